# `make main` runs the main job end to end; `make test` runs the tests on both stacks.
# Both create the virtual environments they need (scripts/ensure_env.sh).
.PHONY: main test env lock

main:
	bash scripts/main.sh

test:
	bash scripts/test.sh

env:
	bash scripts/ensure_env.sh tfx && bash scripts/ensure_env.sh latest

# Re-resolve the pinned sets after editing requirements/*.in.
lock:
	uv pip compile --python-version 3.10 requirements/tfx.in -o requirements/tfx.txt
	uv pip compile --python-version 3.11 requirements/latest.in -o requirements/latest.txt
