/* cnnkit/train.h: placeholder, filled in by its module. */
