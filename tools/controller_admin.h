/*
 * controller_admin.h - the controller's admin subcommands of `llmopt`.
 * Each writes Postgres (sql/migrations/0003 and 0010 tables) in one
 * transaction that also NOTIFYs the controller (controller.notify.channel,
 * payload = the route), so the active controller applies it at once.
 * Options: the common and controller tables (-X pg.dsn=..., --config).
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
#ifndef LLMOPT_TOOLS_CONTROLLER_ADMIN_H
#define LLMOPT_TOOLS_CONTROLLER_ADMIN_H

/* llmopt arm pin|unpin|disable|enable ROUTE ARM [note=TEXT] */
int llmopt_cmd_arm(int argc, char **argv);
/* llmopt experiment create|start|stop|status|list ... */
int llmopt_cmd_experiment(int argc, char **argv);

#endif
