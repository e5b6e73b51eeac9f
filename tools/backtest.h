/*
 * backtest.h - the `llmopt backtest` subcommand (tools/backtest.c).
 */
#ifndef LLMOPT_TOOLS_BACKTEST_H
#define LLMOPT_TOOLS_BACKTEST_H

/* argv[0] is "backtest"; returns the exit code: 0 report written (status
 * "ok" or "no_data"), 1 failure, 2 usage error. */
int llmopt_cmd_backtest(int argc, char **argv);

#endif
