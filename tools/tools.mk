# tierstat, the client of the stats socket: tools/tierstat with its package
# tools/tierstatlib/, packed by `make` into one executable file,
# build/tierstat (a Python zipapp run by Debian's /usr/bin/python3).
TIERSTAT_SRC := tools/tierstat $(wildcard tools/tierstatlib/*.py)

all: $(B)/tierstat

$(B)/tierstat: $(TIERSTAT_SRC)
	@rm -rf $@.d && mkdir -p $@.d/tierstatlib
	cp tools/tierstatlib/*.py $@.d/tierstatlib/
	cp tools/tierstat $@.d/__main__.py
	/usr/bin/python3 -m zipapp $@.d -p /usr/bin/python3 -o $@
	chmod 755 $@
	@rm -rf $@.d
