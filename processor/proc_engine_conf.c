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
    llmopt_detect_config *d = &ec->detect;
    llmopt_err_t err;
    for (int m = 0; m < LLMOPT_DM_COUNT; m++)
        if ((err = llmopt_proc_detectors_parse(llmopt_proc_drift_keys[m], pc->drift_detectors[m],
                                               LLMOPT_DET_ADWIN | LLMOPT_DET_PH | LLMOPT_DET_CUSUM,
                                               &d->drift_mask[m], errstr, errstr_size)))
            return err;
    for (int m = 0; m < LLMOPT_AM_COUNT; m++)
        if ((err = llmopt_proc_detectors_parse(llmopt_proc_anomaly_keys[m],
                                               pc->anomaly_detectors[m],
                                               LLMOPT_DET_ZSCORE | LLMOPT_DET_IQR | LLMOPT_DET_MAD,
                                               &d->anomaly_mask[m], errstr, errstr_size)))
            return err;
    if (pc->reward_routes && *pc->reward_routes && !pc->nroute_rewards)
        return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                           "'processor.reward.routes' is set but was not parsed "
                           "(llmopt_config_finalize not run)");
    d->adwin.delta = pc->adwin_delta;
    d->ph.delta = pc->ph_delta;
    d->ph.threshold = pc->ph_threshold;
    d->ph.min_instances = (uint32_t)pc->ph_min_instances;
    d->cusum.k = pc->cusum_k;
    d->cusum.h = pc->cusum_h;
    d->cusum_bernoulli.h_llr = pc->cusum_h_llr;
    d->zscore.threshold = pc->zscore_threshold;
    d->zscore.min_scale = pc->zscore_min_scale;
    d->iqr.k = pc->iqr_k;
    d->iqr.min_scale = pc->iqr_min_scale;
    d->mad.threshold = pc->mad_threshold;
    d->mad.min_scale = pc->mad_min_scale;
    ec->reward = pc->reward;
    ec->route_rewards = pc->route_rewards;
    ec->nroute_rewards = pc->nroute_rewards;
    err = llmopt_proc_windows_parse(pc->windows, ec->windows,
                                                 LLMOPT_ENGINE_MAX_WINDOWS, &ec->nwindows, errstr,
                                                 errstr_size);
    if (err)
        return err;
    return llmopt_engine_config_check(ec, errstr, errstr_size);
}
