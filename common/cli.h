/*
 * cli.h - the command-line front shared by every binary.
 *
 *   PROG [options] [args...]
 *     -c, --config FILE   JSON configuration file
 *     -X key=value        set one key (repeatable; highest precedence)
 *     --print-config      print every key, its value and source, then exit
 *     --check-config      validate, print the verdict, exit 0 or 1
 *     -h, --help          usage and the keys of the bound tables, exit 0
 *     -V, --version       print the version, exit 0
 *     --                  end of options
 *
 * llmopt_cli_parse() builds the llmopt_config over the caller's struct,
 * loads file < environment < -X in that order, finalizes, and applies
 * log.level and log.format to common/log when the common table is bound.
 *
 * Typical main():
 *     llmopt_processor_conf conf = {0};
 *     const llmopt_config_binding b[] = {
 *         {&llmopt_common_table, offsetof(llmopt_processor_conf, common)},
 *         {&llmopt_processor_table, 0}};
 *     const llmopt_cli_spec spec = {.prog = "llmopt-processor",
 *         .summary = "windowed metrics and signals", .bindings = b, .n_bindings = 2};
 *     llmopt_cli cli;
 *     if (llmopt_cli_parse(&cli, &spec, argc, argv, &conf, sizeof(conf)) != LLMOPT_CLI_RUN)
 *         return cli.exit_code;       // help, version, print/check-config, or an error
 *     ... run, reading conf ...
 *     llmopt_cli_release(&cli);       // frees the strings in conf
 */
#ifndef LLMOPT_CLI_H
#define LLMOPT_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "common/config.h"

typedef struct llmopt_cli_spec {
    const char *prog;       /* name in usage and messages */
    const char *summary;    /* one line for --help */
    const char *args_usage; /* e.g. "[apply|status|verify]"; NULL: no positional args */
    const llmopt_config_binding *bindings;
    size_t n_bindings;
    FILE *out, *err;        /* NULL: stdout, stderr */
} llmopt_cli_spec;

typedef struct llmopt_cli {
    llmopt_config *config; /* owned; NULL after an exit outcome */
    char **args;           /* positional arguments (point into argv); owned array */
    int n_args;
    int exit_code;         /* when llmopt_cli_parse returns LLMOPT_CLI_EXIT */
} llmopt_cli;

typedef enum llmopt_cli_outcome {
    LLMOPT_CLI_RUN,  /* configuration valid: run the program */
    LLMOPT_CLI_EXIT, /* done (help, version, print/check-config) or failed: exit
                      * with cli->exit_code; messages already printed */
} llmopt_cli_outcome;

/* Parses argv[1..argc-1]. Errors (unknown option, bad key or value, file
 * unreadable, cross-key rule) are printed to spec->err as "PROG: message"
 * and give LLMOPT_CLI_EXIT with exit_code 2 for usage errors, 1 for
 * configuration errors. On LLMOPT_CLI_EXIT nothing needs releasing, but
 * llmopt_cli_release() is harmless. */
llmopt_cli_outcome llmopt_cli_parse(llmopt_cli *cli, const llmopt_cli_spec *spec, int argc,
                                    char **argv, void *conf, size_t conf_size);

/* Frees the config (and the strings it stored in the struct). */
void llmopt_cli_release(llmopt_cli *cli);

#endif
