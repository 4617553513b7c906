/* cnnkit/data.h: placeholder, filled in by its module. */
