/* cnnkit/tnz.h: placeholder, filled in by its module. */
