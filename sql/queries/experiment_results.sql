-- Results of experiment 'exp-1' per variant: reward (latest revision of each
-- request, feedback included), its standard error and the lift over the control.
SELECT variant, arm, is_control, requests, reward_mean, reward_stderr,
       reward_lift_vs_control, cost_per_request
FROM llmopt.experiment_summary
WHERE experiment_id = 'exp-1'
ORDER BY variant;
