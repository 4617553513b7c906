/* cnnkit/text.h: placeholder, filled in by its module. */
