/* cnnkit/plot.h: placeholder, filled in by its module. */
