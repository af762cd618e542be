#!/usr/bin/env bash
# The few-HR sweep on sr291 (docs/methods.md, "The few-HR sweep on sr291"): x4, bicubic degradation,
# 3 seeds, every test set present plus sr291/val, paired comparisons and the swd realism axis.
#
#   SRBENCH_DATA=../shared/data:../shared/testdata benchmarks/sweeps/fewhr_sr291.sh OUT [srbench run flags]
#
# Extra flags go to every `srbench run` (e.g. --executor ray for two 1-thread trials at a time on a 2-core
# CPU, or --executor ray --device cuda --trials-per-gpu 8 for eight trials sharing one GPU). PROFILE
# (default standard), SEEDS (default 3) and FIRST_SEED (default 0) override the budget and the seeds:
# `FIRST_SEED=1 SEEDS=1` in one folder and `FIRST_SEED=2 SEEDS=1` in another run two seeds side by side
# (the same trial ids; `srbench merge OUT1 OUT2 --into OUT` then `srbench report OUT` join them), and
# `PROFILE=smoke SEEDS=1` checks the plumbing
# in minutes. Each line below is trained, then at once re-scored on sr291/val from its checkpoints, so a
# machine lost mid-sweep loses at most the line in training. Finished trials are reused, so an interrupted
# sweep continues where it stopped when run again with the same OUT.
# OUT=leaderboard/runs/standard_sr291 continues the committed sweep (leaderboard/runs/README.md): commit its
# new result.json files, which git keeps while it ignores the checkpoints.
set -euo pipefail
out=${1:?usage: fewhr_sr291.sh OUT [srbench run flags]}
shift
common=(--dataset sr291 --profile "${PROFILE:-standard}" --seeds "${SEEDS:-3}" --first-seed "${FIRST_SEED:-0}"
        --out "$out" "$@")

line() {  # line FRACTIONS METHODS [--set ...]: train (test sets), then re-score on sr291/val (no training)
    local fractions=$1 methods=$2
    shift 2
    for split in test val; do
        srbench run "${common[@]}" --eval-split "$split" --hr-fraction "$fractions" --methods "$methods" "$@"
    done
}

# the methods at their defaults (pairwise at srresnet_resize's parameter count)
line 0.01,0.05 bicubic,srresnet,crossscale,fewhr,ambient,pairwise,unsupervised
# the same three few-HR methods with their adversarial term switched off
line 0.01,0.05 ambient,pairwise,fewhr --set ambient.mode=consistency --set pairwise.adversarial_weight=0 \
    --set fewhr.term=none
# the oracle: every image paired (fewhr trains its paired images as srresnet does, so srresnet's rows at
# each fraction are the like-for-like gap fewhr has to close)
line 1 srresnet,srgan
srbench report "$out" --realism swd
