/*
 * commands.h - the `llmopt` subcommands implemented outside tools/llmopt.c.
 * Each takes the subcommand's own argv (argv[0] is the subcommand name) and
 * returns the process exit code: 0 success, 1 failure, 2 usage error.
 */
#ifndef LLMOPT_TOOLS_COMMANDS_H
#define LLMOPT_TOOLS_COMMANDS_H

/* llmopt tail TOPIC: decode a topic's records and print them as JSON lines. */
int llmopt_cmd_tail(int argc, char **argv);
/* llmopt traffic: synthetic gateway telemetry with a scheduled fault. */
int llmopt_cmd_traffic(int argc, char **argv);
/* llmopt replay --from T --to T: a time range through the processor's engine
 * into run-scoped topics (tools/replay_cmd.c); 3: no data in the range. */
int llmopt_cmd_replay(int argc, char **argv);
/* llmopt prompt variants: candidate arms from rewrites of a base template
 * (tools/prompt.c). */
int llmopt_cmd_prompt(int argc, char **argv);

#endif
