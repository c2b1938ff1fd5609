/*
 * geo.h — built-in ISO 3166-1 country centroids and an integer great-circle
 * distance, for the impossible-travel scan rule (private to chain/).
 */
#ifndef PROVENA_CHAIN_GEO_H
#define PROVENA_CHAIN_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Centroid of a region's country: "DE" or a subdivision "DE-BY" (uses DE).
 * Latitude and longitude in milli-degrees. false: unknown or malformed. */
bool geo_lookup(const char *region, int32_t *lat_mdeg, int32_t *lon_mdeg);

/* Haversine distance on a 6371 km sphere, rounded to whole kilometres. */
uint32_t geo_distance_km(int32_t lat1, int32_t lon1, int32_t lat2, int32_t lon2);

/* Distance between two regions' countries; -1 when either is unknown. */
int geo_region_km(const char *a, const char *b, uint32_t *km);

/* Number of countries in the table. */
size_t geo_count(void);

#endif
