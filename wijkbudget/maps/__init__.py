"""The map of a wijk: buurt outlines read from GeoJSON (``geojson``), stored per buurt
(``models``), drawn on the server as SVG (``drawing``), with the proposals and funded projects
placed on it by buurt or by a point (docs/map-and-photos.md, "The map")."""
