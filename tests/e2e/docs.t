#!/usr/bin/perl
# Every citation in the repository points at a file in the repository: links
# in README.md and docs/ resolve (file and #anchor, as GitHub makes anchors),
# every docs/NAME.md that code or docs name exists, every source path a page
# names exists, and nothing cites the reference notes that live outside the
# project.
use strict;
use warnings;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $root = abs_path(dirname(__FILE__) . "/../..");
chdir $root or die "$root: $!";
my $n = 0;
my $failed = 0;

sub result {
    my ($ok, $what, @diag) = @_;
    $n++;
    print(($ok ? "ok" : "not ok") . " $n - $what\n");
    print STDERR map { "# $_\n" } @diag unless $ok;
    $failed++ unless $ok;
}

sub slurp {
    my ($f) = @_;
    open(my $fh, '<', $f) or die "$f: $!";
    local $/;
    return <$fh>;
}

# GitHub's anchor of a heading: lower case, punctuation but '-' and '_' dropped, spaces to '-'.
sub anchors {
    my ($text) = @_;
    my (%seen, %a);
    my $fence = 0;
    for my $line (split /\n/, $text) {
        $fence = !$fence if $line =~ /^```/;
        next if $fence || $line !~ /^#+\s+(.*?)\s*$/;
        my $s = lc $1;
        $s =~ s/[^\w\- ]//g;
        $s =~ s/ /-/g;
        my $k = $seen{$s}++ ? "$s-" . ($seen{$s} - 1) : $s;
        $a{$k} = 1;
    }
    return \%a;
}

my @pages = ('README.md', glob('docs/*.md'));
my %anchor_cache;
for my $page (@pages) {
    my $text = slurp($page);
    (my $prose = $text) =~ s/^```.*?^```//msg;
    my $dir = dirname($page);
    my @bad;
    while ($prose =~ /\[[^\]]*\]\(([^)\s]+)\)/g) {
        my $target = $1;
        next if $target =~ m{^(https?|mailto):};
        my ($file, $frag) = split /#/, $target, 2;
        my $path = $file eq '' ? $page : "$dir/$file";
        if (!-e $path) {
            push @bad, "$target: no such file";
            next;
        }
        next unless defined $frag;
        $anchor_cache{$path} //= anchors(slurp($path));
        push @bad, "$target: no heading with that anchor in $path" unless $anchor_cache{$path}{$frag};
    }
    result(!@bad, "$page: every link resolves", @bad);
}

# Files of the project that may cite docs or sources.
my @files = grep { -f $_ && !m{^tests/fixtures/|\.(db|json|csv|png)$} }
    split /\n/, `git ls-files -co --exclude-standard src lua scripts migrations transformers tools tests deploy bench Makefile README.md docs .ci`;
die "git ls-files found nothing" unless @files;

my (@missing_doc, @foreign);
for my $f (@files) {
    my $text = slurp($f);
    while ($f ne 'tests/e2e/docs.t' && $text =~ m{\bdocs/([A-Za-z0-9_-]+\.md)}g) {
        push @missing_doc, "$f cites docs/$1" unless -e "docs/$1";
    }
    push @foreign, "$f: $&"
        if $f ne 'tests/e2e/docs.t' && $text =~ /\b(?:SCHEMA|BEHAVIOUR|PROTOCOL)\.md\b|shared\/reference/;
}
result(!@missing_doc, "every docs/NAME.md cited exists", @missing_doc);
result(!@foreign, "nothing cites files outside the repository", @foreign);

# Source paths that the pages name (src/db/store.c, tests/e2e/bridge.t ...).
my @missing_src;
for my $page (@pages) {
    my $text = slurp($page);
    while ($text =~ m{`((?:src|lua|tests|tools|bench|deploy|scripts|migrations|transformers)/[^`\s]*)`}g) {
        my $p = $1;
        next if $p =~ /[<>*{}]|NAME|NN|\.\.\./;
        $p =~ s/[:#].*//;
        push @missing_src, "$page names $p" unless -e $p;
    }
}
result(!@missing_src, "every source path the pages name exists", @missing_src);

print "1..$n\n";
exit($failed ? 1 : 0);
