/*
 * geo.c — country centroids and great-circle distance, for impossible travel.
 *
 * The table: ISO 3166-1 alpha-2 code → approximate centroid, in milli-degrees
 * (about 100 m; plenty for "could a person travel this far"). Values from the
 * public Google DSPL countries table (rounded), plus a few codes it lacks
 * (AX, BL, BQ, CW, MF, SS, SX). Sorted by code for binary search.
 *
 * Determinism: every node must compute the same impossible_travel count. The
 * haversine uses libm doubles (sin, cos, asin, sqrt) and is rounded to whole
 * kilometres; the comparison in tx_scans.c is then done on integers
 * (km * 3600 vs kmh * seconds). sqrt is exact (IEEE), and glibc's sin/cos/asin
 * are correctly rounded in practice on x86-64 and aarch64; a 1-ulp difference
 * could only matter at an exact .5 km boundary, and a kilometre is far below
 * the centroid table's own precision. All nodes of a network are expected to
 * run the same build on the same platform.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chain/geo.h"

typedef struct {
    char cc[3];
    int32_t lat, lon; /* milli-degrees */
} geo_row;

static const geo_row table[] = {
    {"AD", 42546, 1602},     /* Andorra */
    {"AE", 23424, 53848},    /* United Arab Emirates */
    {"AF", 33939, 67710},    /* Afghanistan */
    {"AG", 17061, -61796},   /* Antigua and Barbuda */
    {"AI", 18221, -63069},   /* Anguilla */
    {"AL", 41153, 20168},    /* Albania */
    {"AM", 40069, 45038},    /* Armenia */
    {"AO", -11203, 17874},   /* Angola */
    {"AQ", -75251, -71},     /* Antarctica */
    {"AR", -38416, -63617},  /* Argentina */
    {"AS", -14271, -170132}, /* American Samoa */
    {"AT", 47516, 14550},    /* Austria */
    {"AU", -25274, 133775},  /* Australia */
    {"AW", 12521, -69968},   /* Aruba */
    {"AX", 60178, 19915},    /* Aland Islands */
    {"AZ", 40143, 47577},    /* Azerbaijan */
    {"BA", 43916, 17679},    /* Bosnia and Herzegovina */
    {"BB", 13194, -59543},   /* Barbados */
    {"BD", 23685, 90356},    /* Bangladesh */
    {"BE", 50504, 4470},     /* Belgium */
    {"BF", 12238, -1562},    /* Burkina Faso */
    {"BG", 42734, 25486},    /* Bulgaria */
    {"BH", 25930, 50638},    /* Bahrain */
    {"BI", -3373, 29919},    /* Burundi */
    {"BJ", 9308, 2316},      /* Benin */
    {"BL", 17900, -62833},   /* Saint Barthelemy */
    {"BM", 32321, -64757},   /* Bermuda */
    {"BN", 4535, 114728},    /* Brunei */
    {"BO", -16290, -63589},  /* Bolivia */
    {"BQ", 12178, -68238},   /* Bonaire Sint Eustatius and Saba */
    {"BR", -14235, -51925},  /* Brazil */
    {"BS", 25034, -77396},   /* Bahamas */
    {"BT", 27514, 90434},    /* Bhutan */
    {"BV", -54423, 3413},    /* Bouvet Island */
    {"BW", -22328, 24685},   /* Botswana */
    {"BY", 53710, 27953},    /* Belarus */
    {"BZ", 17190, -88498},   /* Belize */
    {"CA", 56130, -106347},  /* Canada */
    {"CC", -12164, 96871},   /* Cocos Islands */
    {"CD", -4038, 21759},    /* Congo DRC */
    {"CF", 6611, 20939},     /* Central African Republic */
    {"CG", -228, 15828},     /* Congo Republic */
    {"CH", 46818, 8228},     /* Switzerland */
    {"CI", 7540, -5547},     /* Cote d'Ivoire */
    {"CK", -21237, -159778}, /* Cook Islands */
    {"CL", -35675, -71543},  /* Chile */
    {"CM", 7370, 12355},     /* Cameroon */
    {"CN", 35862, 104195},   /* China */
    {"CO", 4571, -74297},    /* Colombia */
    {"CR", 9749, -83753},    /* Costa Rica */
    {"CU", 21522, -77781},   /* Cuba */
    {"CV", 16002, -24013},   /* Cape Verde */
    {"CW", 12170, -68990},   /* Curacao */
    {"CX", -10448, 105690},  /* Christmas Island */
    {"CY", 35126, 33430},    /* Cyprus */
    {"CZ", 49817, 15473},    /* Czechia */
    {"DE", 51166, 10452},    /* Germany */
    {"DJ", 11825, 42590},    /* Djibouti */
    {"DK", 56264, 9502},     /* Denmark */
    {"DM", 15415, -61371},   /* Dominica */
    {"DO", 18736, -70163},   /* Dominican Republic */
    {"DZ", 28034, 1660},     /* Algeria */
    {"EC", -1831, -78183},   /* Ecuador */
    {"EE", 58595, 25014},    /* Estonia */
    {"EG", 26821, 30802},    /* Egypt */
    {"EH", 24216, -12886},   /* Western Sahara */
    {"ER", 15179, 39782},    /* Eritrea */
    {"ES", 40464, -3749},    /* Spain */
    {"ET", 9145, 40490},     /* Ethiopia */
    {"FI", 61924, 25748},    /* Finland */
    {"FJ", -16578, 179414},  /* Fiji */
    {"FK", -51796, -59524},  /* Falkland Islands */
    {"FM", 7426, 150551},    /* Micronesia */
    {"FO", 61893, -6912},    /* Faroe Islands */
    {"FR", 46228, 2214},     /* France */
    {"GA", -804, 11609},     /* Gabon */
    {"GB", 55378, -3436},    /* United Kingdom */
    {"GD", 12263, -61604},   /* Grenada */
    {"GE", 42315, 43357},    /* Georgia */
    {"GF", 3934, -53126},    /* French Guiana */
    {"GG", 49466, -2585},    /* Guernsey */
    {"GH", 7947, -1023},     /* Ghana */
    {"GI", 36138, -5345},    /* Gibraltar */
    {"GL", 71707, -42604},   /* Greenland */
    {"GM", 13443, -15310},   /* Gambia */
    {"GN", 9946, -9697},     /* Guinea */
    {"GP", 16996, -62068},   /* Guadeloupe */
    {"GQ", 1651, 10268},     /* Equatorial Guinea */
    {"GR", 39074, 21824},    /* Greece */
    {"GS", -54430, -36588},  /* South Georgia */
    {"GT", 15783, -90231},   /* Guatemala */
    {"GU", 13444, 144794},   /* Guam */
    {"GW", 11804, -15180},   /* Guinea-Bissau */
    {"GY", 4860, -58930},    /* Guyana */
    {"HK", 22396, 114109},   /* Hong Kong */
    {"HM", -53082, 73504},   /* Heard and McDonald Islands */
    {"HN", 15200, -86242},   /* Honduras */
    {"HR", 45100, 15200},    /* Croatia */
    {"HT", 18971, -72285},   /* Haiti */
    {"HU", 47162, 19503},    /* Hungary */
    {"ID", -789, 113921},    /* Indonesia */
    {"IE", 53413, -8244},    /* Ireland */
    {"IL", 31046, 34852},    /* Israel */
    {"IM", 54236, -4548},    /* Isle of Man */
    {"IN", 20594, 78963},    /* India */
    {"IO", -6343, 71877},    /* British Indian Ocean Territory */
    {"IQ", 33223, 43679},    /* Iraq */
    {"IR", 32428, 53688},    /* Iran */
    {"IS", 64963, -19021},   /* Iceland */
    {"IT", 41872, 12567},    /* Italy */
    {"JE", 49214, -2131},    /* Jersey */
    {"JM", 18110, -77298},   /* Jamaica */
    {"JO", 30585, 36238},    /* Jordan */
    {"JP", 36205, 138253},   /* Japan */
    {"KE", -24, 37906},      /* Kenya */
    {"KG", 41204, 74766},    /* Kyrgyzstan */
    {"KH", 12566, 104991},   /* Cambodia */
    {"KI", -3370, -168734},  /* Kiribati */
    {"KM", -11875, 43872},   /* Comoros */
    {"KN", 17358, -62783},   /* Saint Kitts and Nevis */
    {"KP", 40340, 127510},   /* North Korea */
    {"KR", 35908, 127767},   /* South Korea */
    {"KW", 29312, 47482},    /* Kuwait */
    {"KY", 19513, -80567},   /* Cayman Islands */
    {"KZ", 48020, 66924},    /* Kazakhstan */
    {"LA", 19856, 102495},   /* Laos */
    {"LB", 33855, 35862},    /* Lebanon */
    {"LC", 13909, -60979},   /* Saint Lucia */
    {"LI", 47166, 9555},     /* Liechtenstein */
    {"LK", 7873, 80772},     /* Sri Lanka */
    {"LR", 6428, -9429},     /* Liberia */
    {"LS", -29610, 28234},   /* Lesotho */
    {"LT", 55169, 23881},    /* Lithuania */
    {"LU", 49815, 6130},     /* Luxembourg */
    {"LV", 56880, 24603},    /* Latvia */
    {"LY", 26335, 17228},    /* Libya */
    {"MA", 31792, -7093},    /* Morocco */
    {"MC", 43750, 7413},     /* Monaco */
    {"MD", 47412, 28370},    /* Moldova */
    {"ME", 42709, 19374},    /* Montenegro */
    {"MF", 18075, -63060},   /* Saint Martin */
    {"MG", -18767, 46869},   /* Madagascar */
    {"MH", 7131, 171184},    /* Marshall Islands */
    {"MK", 41609, 21745},    /* North Macedonia */
    {"ML", 17571, -3996},    /* Mali */
    {"MM", 21914, 95956},    /* Myanmar */
    {"MN", 46862, 103847},   /* Mongolia */
    {"MO", 22199, 113544},   /* Macao */
    {"MP", 17331, 145385},   /* Northern Mariana Islands */
    {"MQ", 14642, -61024},   /* Martinique */
    {"MR", 21008, -10941},   /* Mauritania */
    {"MS", 16742, -62187},   /* Montserrat */
    {"MT", 35937, 14375},    /* Malta */
    {"MU", -20348, 57552},   /* Mauritius */
    {"MV", 3203, 73221},     /* Maldives */
    {"MW", -13254, 34302},   /* Malawi */
    {"MX", 23635, -102553},  /* Mexico */
    {"MY", 4210, 101976},    /* Malaysia */
    {"MZ", -18666, 35530},   /* Mozambique */
    {"NA", -22958, 18490},   /* Namibia */
    {"NC", -20904, 165618},  /* New Caledonia */
    {"NE", 17608, 8082},     /* Niger */
    {"NF", -29041, 167955},  /* Norfolk Island */
    {"NG", 9082, 8675},      /* Nigeria */
    {"NI", 12865, -85207},   /* Nicaragua */
    {"NL", 52133, 5291},     /* Netherlands */
    {"NO", 60472, 8469},     /* Norway */
    {"NP", 28395, 84124},    /* Nepal */
    {"NR", -523, 166932},    /* Nauru */
    {"NU", -19054, -169867}, /* Niue */
    {"NZ", -40901, 174886},  /* New Zealand */
    {"OM", 21513, 55923},    /* Oman */
    {"PA", 8538, -80782},    /* Panama */
    {"PE", -9190, -75015},   /* Peru */
    {"PF", -17680, -149407}, /* French Polynesia */
    {"PG", -6315, 143956},   /* Papua New Guinea */
    {"PH", 12880, 121774},   /* Philippines */
    {"PK", 30375, 69345},    /* Pakistan */
    {"PL", 51919, 19145},    /* Poland */
    {"PM", 46942, -56271},   /* Saint Pierre and Miquelon */
    {"PN", -24704, -127439}, /* Pitcairn Islands */
    {"PR", 18221, -66590},   /* Puerto Rico */
    {"PS", 31952, 35233},    /* Palestine */
    {"PT", 39400, -8224},    /* Portugal */
    {"PW", 7515, 134583},    /* Palau */
    {"PY", -23443, -58444},  /* Paraguay */
    {"QA", 25355, 51184},    /* Qatar */
    {"RE", -21115, 55536},   /* Reunion */
    {"RO", 45943, 24967},    /* Romania */
    {"RS", 44017, 21006},    /* Serbia */
    {"RU", 61524, 105319},   /* Russia */
    {"RW", -1940, 29874},    /* Rwanda */
    {"SA", 23886, 45079},    /* Saudi Arabia */
    {"SB", -9646, 160156},   /* Solomon Islands */
    {"SC", -4680, 55492},    /* Seychelles */
    {"SD", 12863, 30218},    /* Sudan */
    {"SE", 60128, 18644},    /* Sweden */
    {"SG", 1352, 103820},    /* Singapore */
    {"SH", -24143, -10031},  /* Saint Helena */
    {"SI", 46151, 14995},    /* Slovenia */
    {"SJ", 77554, 23670},    /* Svalbard and Jan Mayen */
    {"SK", 48669, 19699},    /* Slovakia */
    {"SL", 8461, -11780},    /* Sierra Leone */
    {"SM", 43942, 12458},    /* San Marino */
    {"SN", 14497, -14452},   /* Senegal */
    {"SO", 5152, 46200},     /* Somalia */
    {"SR", 3919, -56028},    /* Suriname */
    {"SS", 7863, 29695},     /* South Sudan */
    {"ST", 186, 6613},       /* Sao Tome and Principe */
    {"SV", 13794, -88897},   /* El Salvador */
    {"SX", 18040, -63070},   /* Sint Maarten */
    {"SY", 34802, 38997},    /* Syria */
    {"SZ", -26523, 31466},   /* Eswatini */
    {"TC", 21694, -71798},   /* Turks and Caicos Islands */
    {"TD", 15454, 18732},    /* Chad */
    {"TF", -49280, 69349},   /* French Southern Territories */
    {"TG", 8620, 825},       /* Togo */
    {"TH", 15870, 100993},   /* Thailand */
    {"TJ", 38861, 71276},    /* Tajikistan */
    {"TK", -8967, -171856},  /* Tokelau */
    {"TL", -8874, 125728},   /* Timor-Leste */
    {"TM", 38970, 59556},    /* Turkmenistan */
    {"TN", 33887, 9537},     /* Tunisia */
    {"TO", -21179, -175198}, /* Tonga */
    {"TR", 38964, 35243},    /* Turkey */
    {"TT", 10692, -61223},   /* Trinidad and Tobago */
    {"TV", -7110, 177649},   /* Tuvalu */
    {"TW", 23698, 120961},   /* Taiwan */
    {"TZ", -6369, 34889},    /* Tanzania */
    {"UA", 48379, 31166},    /* Ukraine */
    {"UG", 1373, 32290},     /* Uganda */
    {"US", 37090, -95713},   /* United States */
    {"UY", -32523, -55766},  /* Uruguay */
    {"UZ", 41377, 64585},    /* Uzbekistan */
    {"VA", 41903, 12453},    /* Vatican City */
    {"VC", 12984, -61287},   /* Saint Vincent and the Grenadines */
    {"VE", 6424, -66590},    /* Venezuela */
    {"VG", 18421, -64640},   /* British Virgin Islands */
    {"VI", 18336, -64896},   /* U.S. Virgin Islands */
    {"VN", 14058, 108277},   /* Vietnam */
    {"VU", -15377, 166959},  /* Vanuatu */
    {"WF", -13769, -177156}, /* Wallis and Futuna */
    {"WS", -13759, -172105}, /* Samoa */
    {"XK", 42603, 20903},    /* Kosovo */
    {"YE", 15553, 48516},    /* Yemen */
    {"YT", -12828, 45166},   /* Mayotte */
    {"ZA", -30559, 22938},   /* South Africa */
    {"ZM", -13134, 27849},   /* Zambia */
    {"ZW", -19015, 29155},   /* Zimbabwe */
};

static int cmp(const void *k, const void *r)
{
    return strncmp((const char *)k, ((const geo_row *)r)->cc, 2);
}

bool geo_lookup(const char *region, int32_t *lat_mdeg, int32_t *lon_mdeg)
{
    if (region == NULL || region[0] < 'A' || region[0] > 'Z' || region[1] < 'A' || region[1] > 'Z')
        return false;
    if (region[2] != '\0' && region[2] != '-')
        return false;
    char cc[3] = {region[0], region[1], '\0'};
    const geo_row *r = bsearch(cc, table, sizeof table / sizeof table[0], sizeof table[0], cmp);
    if (r == NULL)
        return false;
    *lat_mdeg = r->lat;
    *lon_mdeg = r->lon;
    return true;
}

size_t geo_count(void)
{
    return sizeof table / sizeof table[0];
}

uint32_t geo_distance_km(int32_t lat1, int32_t lon1, int32_t lat2, int32_t lon2)
{
    if (lat1 == lat2 && lon1 == lon2)
        return 0;
    const double rad = 3.14159265358979323846 / 180000.0; /* milli-degrees → radians */
    double p1 = lat1 * rad, p2 = lat2 * rad;
    double dp = (lat2 - lat1) * rad, dl = (lon2 - lon1) * rad;
    double s1 = sin(dp / 2), s2 = sin(dl / 2);
    double h = s1 * s1 + cos(p1) * cos(p2) * s2 * s2;
    if (h > 1.0)
        h = 1.0;
    double km = 2.0 * 6371.0 * asin(sqrt(h));
    return (uint32_t)(km + 0.5);
}

int geo_region_km(const char *a, const char *b, uint32_t *km)
{
    int32_t la, oa, lb, ob;
    if (!geo_lookup(a, &la, &oa) || !geo_lookup(b, &lb, &ob))
        return -1;
    *km = geo_distance_km(la, oa, lb, ob);
    return 0;
}
