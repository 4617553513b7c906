/* cnnkit/embed.h: placeholder, filled in by its module. */
