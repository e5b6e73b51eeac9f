/*
 * simulate.h - `llmopt simulate`: a fleet of simulated gateways and LLM
 * backends driven by a scenario (tools/simulate_scenario.h), with every
 * choice made through libllmopt-gateway (following llm.routing) and every
 * request, response and feedback reported through it, so the loop
 * gateway -> processor -> controller -> gateway is closed.
 *
 *   llmopt simulate [run] --scenario FILE [options]   run it (default)
 *   llmopt simulate check --scenario FILE             validate; print the oracle
 *                                                     at the start and per change
 *   llmopt simulate policy --scenario FILE            the controller policy file
 *   llmopt simulate stack --scenario FILE             the scenario's processor and
 *                                                     controller settings, one
 *                                                     "component key=value" a line
 *
 * Time: requests arrive as a Poisson process in event time; with speed s
 * event time runs s times faster than the wall clock (telemetry carries
 * event time). choose() is given the WALL clock, because the controller's
 * decisions (ts_ms, cooldown_until_ms) are in wall time.
 *
 * Exit code: 0 done, 1 failure (scenario, Kafka, files), 2 usage.
 * docs/SIMULATOR.md has the scenario format and the summary.
 */
#ifndef LLMOPT_TOOLS_SIMULATE_H
#define LLMOPT_TOOLS_SIMULATE_H

int llmopt_cmd_simulate(int argc, char **argv);

#endif
