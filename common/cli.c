/* cli.c - the shared command line of every binary (cli.h). */
#include "common/cli.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/version.h"

static void usage(const llmopt_cli_spec *s, FILE *out) {
    fprintf(out,
            "usage: %s [options]%s%s\n%s%s"
            "options:\n"
            "  -c, --config FILE   JSON configuration file\n"
            "  -X key=value        set a configuration key (repeatable)\n"
            "  --print-config      print the effective configuration and exit\n"
            "  --check-config      validate the configuration, exit 0 or 1\n"
            "  -h, --help          this help\n"
            "  -V, --version       print the version\n"
            "precedence: defaults < --config file < LLMOPT_<KEY> environment < -X\n"
            "keys:\n",
            s->prog, s->args_usage ? " " : "", s->args_usage ? s->args_usage : "",
            s->summary ? s->summary : "", s->summary ? "\n" : "");
    for (size_t b = 0; b < s->n_bindings; b++)
        for (const llmopt_config_prop *p = s->bindings[b].table->props; p->name; p++)
            fprintf(out, "  %-32s %s%s%s\n", p->name, p->desc ? p->desc : "",
                    p->def ? " (default " : "", p->def ? p->def : "");
    fprintf(out, "  kafka.*                          librdkafka properties, passed through\n"
                 "see docs/CONFIG.md for types, defaults and ranges\n");
}

static llmopt_cli_outcome leave(llmopt_cli *cli, int code) {
    llmopt_config_destroy(cli->config);
    cli->config = NULL;
    free(cli->args);
    cli->args = NULL;
    cli->n_args = 0;
    cli->exit_code = code;
    return LLMOPT_CLI_EXIT;
}

llmopt_cli_outcome llmopt_cli_parse(llmopt_cli *cli, const llmopt_cli_spec *spec, int argc,
                                    char **argv, void *conf, size_t conf_size) {
    FILE *out = spec->out ? spec->out : stdout;
    FILE *err = spec->err ? spec->err : stderr;
    const char *file = NULL;
    bool print = false, check = false, opts_done = false;
    char errstr[1024];
    memset(cli, 0, sizeof(*cli));
    const char **xs = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*xs));
    cli->args = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*cli->args));
    int n_x = 0;
    if (!xs || !cli->args) {
        free(xs);
        fprintf(err, "%s: out of memory\n", spec->prog);
        return leave(cli, 1);
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts_done || a[0] != '-' || !a[1]) {
            cli->args[cli->n_args++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--")) {
            opts_done = true;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "-X")) {
            if (i + 1 >= argc) {
                fprintf(err, "%s: option '%s' needs an argument\n", spec->prog, a);
                free(xs);
                return leave(cli, 2);
            }
            if (a[1] == 'X')
                xs[n_x++] = argv[++i];
            else
                file = argv[++i];
        } else if (!strncmp(a, "--config=", 9)) {
            file = a + 9;
        } else if (!strncmp(a, "-X", 2)) {
            xs[n_x++] = a + 2;
        } else if (!strcmp(a, "--print-config")) {
            print = true;
        } else if (!strcmp(a, "--check-config")) {
            check = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(spec, out);
            free(xs);
            return leave(cli, 0);
        } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            fprintf(out, "%s %s\n", spec->prog, llmopt_version());
            free(xs);
            return leave(cli, 0);
        } else {
            fprintf(err, "%s: unknown option '%s' (try --help)\n", spec->prog, a);
            free(xs);
            return leave(cli, 2);
        }
    }
    if (cli->n_args && !spec->args_usage) {
        fprintf(err, "%s: unexpected argument '%s' (try --help)\n", spec->prog, cli->args[0]);
        free(xs);
        return leave(cli, 2);
    }
    errstr[0] = '\0';
    cli->config = llmopt_config_new(conf, conf_size, spec->bindings, spec->n_bindings, errstr,
                                    sizeof(errstr));
    llmopt_err_t e = cli->config ? LLMOPT_OK : LLMOPT_ERR_INVALID;
    if (e == LLMOPT_OK && file)
        e = llmopt_config_load_file(cli->config, file, errstr, sizeof(errstr));
    if (e == LLMOPT_OK)
        e = llmopt_config_load_env(cli->config, NULL, errstr, sizeof(errstr));
    for (int i = 0; e == LLMOPT_OK && i < n_x; i++)
        e = llmopt_config_set_arg(cli->config, xs[i], errstr, sizeof(errstr));
    if (e == LLMOPT_OK)
        e = llmopt_config_finalize(cli->config, errstr, sizeof(errstr));
    free(xs);
    if (e != LLMOPT_OK) {
        fprintf(err, "%s: %s\n", spec->prog, errstr);
        if (check)
            fprintf(out, "configuration invalid\n");
        return leave(cli, 1);
    }
    if (print || check) {
        if (print)
            llmopt_config_print(cli->config, out);
        if (check)
            fprintf(out, "configuration ok\n");
        return leave(cli, 0);
    }
    for (size_t b = 0; b < spec->n_bindings; b++)
        if (spec->bindings[b].table == &llmopt_common_table) {
            const llmopt_common_conf *cc =
                (const llmopt_common_conf *)((const char *)conf + spec->bindings[b].offset);
            llmopt_log_setup((llmopt_log_level)cc->log_level, (llmopt_log_format)cc->log_format);
        }
    return LLMOPT_CLI_RUN;
}

void llmopt_cli_release(llmopt_cli *cli) {
    if (!cli)
        return;
    llmopt_config_destroy(cli->config);
    cli->config = NULL;
    free(cli->args);
    cli->args = NULL;
    cli->n_args = 0;
}
