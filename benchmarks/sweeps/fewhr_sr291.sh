#!/usr/bin/env bash
# The few-HR sweep on sr291 (docs/methods.md, "The few-HR sweep on sr291"): x4, bicubic degradation,
# 3 seeds, every test set present plus sr291/val, paired comparisons and the swd realism axis.
#
#   SRBENCH_DATA=../shared/data:../shared/testdata benchmarks/sweeps/fewhr_sr291.sh OUT [srbench run flags]
#
# Extra flags go to every `srbench run` (e.g. --executor ray for two 1-thread trials at a time on a 2-core
# CPU, or --executor ray --device cuda --trials-per-gpu 8 for eight trials sharing one GPU). PROFILE (default standard) and SEEDS (default 3) override the budget;
# `PROFILE=smoke SEEDS=1` checks the plumbing in minutes. Finished trials are reused, so an interrupted
# sweep continues where it stopped when run again with the same OUT. OUT=leaderboard/runs/standard_sr291
# continues the committed sweep (leaderboard/runs/README.md): commit its new result.json files, which git
# keeps while it ignores the checkpoints, once each trial is scored on both splits.
set -euo pipefail
out=${1:?usage: fewhr_sr291.sh OUT [srbench run flags]}
shift
common=(--dataset sr291 --profile "${PROFILE:-standard}" --seeds "${SEEDS:-3}" --out "$out" "$@")
fractions=0.01,0.05

for split in test val; do
    # --eval-split val re-scores the trials trained by the test pass from their checkpoints: no training.
    flags=("${common[@]}" --eval-split "$split")
    # the methods at their defaults (pairwise at srresnet_resize's parameter count)
    srbench run "${flags[@]}" --hr-fraction "$fractions" \
        --methods bicubic,srresnet,crossscale,fewhr,ambient,pairwise,unsupervised
    # the same three few-HR methods with their adversarial term switched off
    srbench run "${flags[@]}" --hr-fraction "$fractions" --methods ambient,pairwise,fewhr \
        --set ambient.mode=consistency --set pairwise.adversarial_weight=0 --set fewhr.term=none
    # the oracle: every image paired (fewhr trains its paired images as srresnet does, so srresnet's rows at
    # each fraction are the like-for-like gap fewhr has to close)
    srbench run "${flags[@]}" --hr-fraction 1 --methods srresnet,srgan
done
srbench report "$out" --realism swd
