.PHONY: demo test bench bench-quick load lint types chaos fleet
demo:
	./bin/demo
test:
	./bin/test
bench:
	./bin/bench --million --out var/bench.json
bench-quick:
	./bin/bench --students 10000 --staff 1000 --scaling-sizes 10000 --concurrency-districts 4 --concurrency-students 2000
load:
	./bin/load --out var/load.json
chaos:
	./bin/chaos
fleet:
	./bin/fleet --out var/fleet.json
lint: types
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
types:
	.venv/bin/python -m mypy
