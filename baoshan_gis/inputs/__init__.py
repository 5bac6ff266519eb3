"""Readers of the data planners bring, one module per kind of input (as GDAL has one driver per
format): :mod:`~baoshan_gis.inputs.osm_extract` for OpenStreetMap extracts, and further modules for
spreadsheets, GeoParquet and geocoders."""
