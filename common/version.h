#ifndef LLMOPT_VERSION_H
#define LLMOPT_VERSION_H
/* The llmopt release this binary was built from, e.g. "0.1.0". */
const char *llmopt_version(void);
#endif
