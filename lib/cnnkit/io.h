/* cnnkit/io.h: placeholder, filled in by its module. */
