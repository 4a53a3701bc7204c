#!/usr/bin/perl
# pg-dashboards.pl - makes the PostgreSQL dashboards and alert rules of
# deploy/grafana/provisioning from the SQLite ones, so that both sinks show
# the same panels and there is one place to change them: edit the SQLite
# files, then run
#
#   perl tools/pg-dashboards.pl [PROVISIONING-DIR]
#
# which rewrites dashboards/vlbimon-postgres/*.json and
# alerting/vlbimon-bridge-postgres.json (tests/e2e/dashboards_pg.t fails
# while they differ from what this makes). Each query moves from the SQLite
# plugin's fields to Grafana's PostgreSQL data source (rawSql, format), its
# SQL translated by the rules in sql() below; SQL this does not know how to
# translate stops it, naming the query, rather than going out untested.
use strict;
use warnings;
use File::Basename qw(dirname);
use JSON::PP;

my $prov = shift // dirname(__FILE__) . '/../deploy/grafana/provisioning';
my $TYPE = 'grafana-postgresql-datasource';
my $UID = 'vlbimon-postgres';
my $json = JSON::PP->new->canonical->indent->indent_length(2)->space_after;

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or die "$f: $!\n";
    local $/;
    return $json->decode(scalar <$fh>);
}

sub spew {
    my ($f, $doc) = @_;
    open my $fh, '>', $f or die "$f: $!\n";
    print $fh $json->encode($doc);
    close $fh or die "$f: $!\n";
}

# SQLite's SQL as PostgreSQL runs it. $__from and $__to would reach an alert
# rule's SQL unexpanded (Grafana's backend expands only macros), so the time
# range is $__unixEpochFilter(time): "time >= FROM AND time <= TO" in unix
# seconds, the same range.
sub sql {
    my ($s, $where) = @_;
    $s =~ s/\btime >= \$__from \/ 1000 AND time <= \$__to \/ 1000\b/\$__unixEpochFilter(time)/g;
    # The unary plus only steers SQLite's planner; PostgreSQL's has statistics (and no + for text).
    $s =~ s/ AND \+station = ('[^']*') -- the \+ keeps SQLite on the time index/ AND station = $1/g;
    $s =~ s/CAST\(strftime\('%s', 'now'\) AS INTEGER\)/CAST(extract(epoch FROM now()) AS BIGINT)/g;
    die "$where: no rule to translate this SQL to PostgreSQL:\n$s\n"
        if $s =~ /\$__(?:from|to)\b|strftime|\+station|--/;
    return $s;
}

# A panel target or alert model: the same query in the PostgreSQL data source's fields.
sub query {
    my ($t, $where) = @_;
    die "$where: rawQueryText and queryText differ\n" if $t->{rawQueryText} ne $t->{queryText};
    my %q = (rawSql => sql($t->{queryText}, $where), rawQuery => JSON::PP::true,
        editorMode => 'code', format => ($t->{queryType} eq 'table' ? 'table' : 'time_series'));
    delete @$t{qw(queryText rawQueryText queryType timeColumns)};
    %$t = (%$t, %q);
}

sub walk {
    my ($n, $where) = @_;
    if (ref $n eq 'HASH') {
        $where = $n->{title} // $where;
        if (ref $n->{datasource} eq 'HASH' && $n->{datasource}{type} eq 'frser-sqlite-datasource') {
            $n->{datasource}{type} = $TYPE;
        }
        $n->{datasourceUid} = $UID if ($n->{datasourceUid} // '') eq 'vlbimon-sqlite';
        if (exists $n->{queryText}) {
            query($n, $where);
            return;
        }
        if (($n->{type} // '') eq 'datasource') {
            $n->{query} = $TYPE;
            $n->{current} = { text => $UID, value => $UID };
        }
        walk($n->{$_}, $where) for keys %$n;
    } elsif (ref $n eq 'ARRAY') {
        walk($_, $where) for @$n;
    }
}

my $out = "$prov/dashboards/vlbimon-postgres";
mkdir $out;
for my $f (glob "$prov/dashboards/vlbimon/*.json") {
    my $d = slurp($f);
    walk($d, $f);
    $d->{uid} =~ s/^vlbimon-/vlbimon-pg-/ or die "$f: uid $d->{uid} does not start with vlbimon-\n";
    $d->{title} =~ s/^vlbimon: /vlbimon (PostgreSQL): / or die "$f: title does not start with 'vlbimon: '\n";
    $_ = $_ eq 'vlbimon' ? 'vlbimon-postgres' : $_ for @{ $d->{tags} }, map { @{ $_->{tags} // [] } } @{ $d->{links} };
    spew("$out/" . ($f =~ s{.*/}{}r), $d);
}

my $rules = slurp("$prov/alerting/vlbimon-bridge.json");
walk($rules, 'alert rules');
for my $g (@{ $rules->{groups} }) {
    $g->{folder} = 'vlbimon (PostgreSQL)';
    for my $r (@{ $g->{rules} }) {
        $r->{uid} .= '-pg';
        $r->{annotations}{__dashboardUid__} =~ s/^vlbimon-/vlbimon-pg-/;
    }
}
spew("$prov/alerting/vlbimon-bridge-postgres.json", $rules);
