/*
 * proc_engine_conf.c - processor keys -> llmopt_engine_config (see
 * proc_config.h).
 */
#include "processor/proc_config.h"

llmopt_err_t llmopt_proc_engine_config(const llmopt_processor_conf *pc, llmopt_engine_config *ec,
                                       char *errstr, size_t errstr_size) {
    llmopt_engine_config_default(ec);
    ec->join_window_ms = pc->join_window_ms;
    ec->feedback_window_ms = pc->feedback_window_ms;
    ec->join_max_bytes = (size_t)pc->join_max_bytes;
    ec->ooo_ms = pc->ooo_ms;
    ec->grace_ms = pc->grace_ms;
    ec->max_future_ms = pc->max_future_ms;
    ec->max_past_ms = pc->max_past_ms;
    ec->digest_compression = (uint32_t)pc->digest_compression;
    llmopt_err_t err = llmopt_proc_windows_parse(pc->windows, ec->windows,
                                                 LLMOPT_ENGINE_MAX_WINDOWS, &ec->nwindows, errstr,
                                                 errstr_size);
    if (err)
        return err;
    return llmopt_engine_config_check(ec, errstr, errstr_size);
}
