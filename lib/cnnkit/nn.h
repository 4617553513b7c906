/* cnnkit/nn.h: placeholder, filled in by its module. */
