/* version.c - the llmopt version string, from CMake's project() version. */
#include "common/version.h"

const char *llmopt_version(void) {
    return "0.1.0";
}
