# The two commands a new user needs: `make run` and `make test`. Both set up what is missing first.
.PHONY: setup run test train faq-check bench

setup:
	bash scripts/setup.sh

run: setup
	.venv/bin/pustakabot run

test:
	bash scripts/setup.sh --browser --haproxy
	.venv/bin/python -m pytest

train: setup
	.venv/bin/pustakabot train

faq-check: setup
	.venv/bin/pustakabot faq check
