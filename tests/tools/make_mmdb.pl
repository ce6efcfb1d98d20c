#!/usr/bin/perl
# Build a small MaxMind DB (GeoLite2-City or GeoLite2-ASN layout) from a JSON description, for
# tests and for trying GeoIP rules without a MaxMind account. Needs Debian's
# libmaxmind-db-writer-perl. Reserved networks (127.0.0.0/8, 10.0.0.0/8...) are kept on purpose
# so tests can give loopback aliases a country.
#
#   perl tests/tools/make_mmdb.pl IN.json OUT.mmdb
#
# IN.json (city layout):
#   {"layout": "city", "networks": {
#      "127.0.0.10/32": {"country": "JP", "city": "Tokyo", "latitude": 35.68,
#                        "longitude": 139.69, "accuracy_radius": 20}}}
# IN.json (asn layout):
#   {"layout": "asn", "networks": {
#      "127.0.0.0/24": {"asn": 64500, "organization": "Example Net"}}}
# Every field except the network is optional.
use strict;
use warnings;

use JSON::PP ();
use MaxMind::DB::Writer::Tree;

die "usage: $0 IN.json OUT.mmdb\n" unless @ARGV == 2;
my ( $in, $out ) = @ARGV;

my $json = do {
    open my $fh, '<:raw', $in or die "$in: $!\n";
    local $/;
    <$fh>;
};
my $desc = JSON::PP->new->utf8->decode($json);
my $layout = $desc->{layout} // 'city';
die "$in: layout must be \"city\" or \"asn\"\n"
    unless $layout eq 'city' || $layout eq 'asn';
die "$in: \"networks\" must be an object\n"
    unless ref $desc->{networks} eq 'HASH';

my %types = (
    country                        => 'map',
    city                           => 'map',
    location                       => 'map',
    names                          => 'map',
    iso_code                       => 'utf8_string',
    en                             => 'utf8_string',
    latitude                       => 'double',
    longitude                      => 'double',
    accuracy_radius                => 'uint16',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 28,
    database_type            => $layout eq 'city' ? 'GeoLite2-City' : 'GeoLite2-ASN',
    languages                => ['en'],
    description              => { en => 'ztgate test database' },
    remove_reserved_networks => 0,
    map_key_type_callback    => sub { $types{ $_[0] } // die "unknown key $_[0]\n" },
);

# Sorted so the output does not depend on hash order.
for my $net ( sort keys %{ $desc->{networks} } ) {
    my $n = $desc->{networks}{$net};
    my %rec;
    if ( $layout eq 'city' ) {
        $rec{country}{iso_code} = $n->{country} if defined $n->{country};
        $rec{city}{names}{en}   = $n->{city}    if defined $n->{city};
        for my $k (qw(latitude longitude)) {
            $rec{location}{$k} = 0.0 + $n->{$k} if defined $n->{$k};
        }
        $rec{location}{accuracy_radius} = int $n->{accuracy_radius}
            if defined $n->{accuracy_radius};
    }
    else {
        $rec{autonomous_system_number} = int $n->{asn} if defined $n->{asn};
        $rec{autonomous_system_organization} = $n->{organization}
            if defined $n->{organization};
    }
    $tree->insert_network( $net, \%rec );
}

open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
