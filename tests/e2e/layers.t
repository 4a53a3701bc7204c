#!/usr/bin/perl
# The layers of src/ (docs/architecture.md) hold: a file includes only headers
# of its own layer and of the layers below it.
use strict;
use warnings;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

chdir(abs_path(dirname(__FILE__) . "/../..")) or die $!;
my %below = (
    core => [qw(core)],
    db   => [qw(core db)],
    host => [qw(core db host)],
    net  => [qw(core host net)],
    hist => [qw(core host hist)],
    cmd  => [qw(core db host net hist cmd)],
    sim  => [qw(core sim)],
);
# Known and documented exceptions (file => included header).
my %exception = (
    'src/sim/*' => 'net/secrets.h',
);
my ($n, $failed) = (0, 0);
my @files = sort glob('src/*/*.[ch]');
die "no sources" unless @files;
for my $f (@files) {
    my ($layer) = $f =~ m{^src/([^/]+)/} or next;
    my %ok = map { $_ => 1 } @{ $below{$layer} || [] };
    open(my $fh, '<', $f) or die "$f: $!";
    my @bad;
    while (<$fh>) {
        next unless /^#include "([a-z]+)\/([^"]+)"/;
        my ($l, $h) = ($1, "$1/$2");
        next if $ok{$l};
        next if ($exception{$f} // '') eq $h;
        next if $layer eq 'sim' && $h eq $exception{'src/sim/*'};
        push @bad, "$f includes $h (layer $l is not below $layer)";
    }
    $n++;
    print((@bad ? "not ok" : "ok") . " $n - $f keeps to its layer\n");
    print STDERR map { "# $_\n" } @bad;
    $failed++ if @bad;
}
print "1..$n\n";
exit($failed ? 1 : 0);
