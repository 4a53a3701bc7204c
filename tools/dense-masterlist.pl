#!/usr/bin/perl
# A masterlist whose every cadence is ten times shorter (at least 1 s; 0,
# irregular, stays 0): a simulator given it sends ten times the points a
# client reading the real one expects, which is how history.t and the bench
# show what history does with answers bigger than the cadences promise.
# Usage: perl tools/dense-masterlist.pl < share/masterlist.json > dense.json
use strict;
use warnings;
use JSON::PP;

my $m = decode_json(do { local $/; <STDIN> });
for my $s (values %$m) {
    for my $p (values %$s) {
        my $c = $p->{cadence} or next;
        $c->{$_} = $c->{$_} > 10 ? int($c->{$_} / 10) : $c->{$_} ? 1 : 0 for keys %$c;
    }
}
print encode_json($m);
