/* cnnkit/image.h: placeholder, filled in by its module. */
