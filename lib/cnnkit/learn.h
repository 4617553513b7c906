/* cnnkit/learn.h: placeholder, filled in by its module. */
