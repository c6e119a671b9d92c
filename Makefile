# complaintflow: `make run` starts the whole system, `make test` runs every test.
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install key run test test-faults bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP) key

key: $(STAMP)  # the project's codec key (.data/codec.keys), made once when none is configured
	@$(PY) -c 'from complaints.devstack import local_codec_key; from complaints.infra.settings import Settings; local_codec_key(Settings.from_env())'

run: install
	$(PY) -m complaints.devstack

test: install  # two files at a time (each file's tests together, sharing its fixtures)
	$(PY) -m pytest -q -n 2 --dist loadfile

test-faults: install
	$(PY) -m pytest -q -m faults -p no:cacheprovider -n 2 --dist loadfile  # one heavy file beside the waiting ones

bench: install
	$(PY) bench/load.py

clean:
	rm -rf .data tests/artifacts
