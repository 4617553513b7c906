/* cnnkit/arch.h: placeholder, filled in by its module. */
