/* The hotspot map of the analyst page: zones from the geo API, coloured by smoothed incidence,
   hot spots outlined in red, cold spots in blue, rising zones dashed amber. The figures come from
   the page (json_script "hotspot-data"); the table below the map says the same without JavaScript. */
(function () {
  "use strict";
  var el = document.getElementById("hotspot-map");
  var dataEl = document.getElementById("hotspot-data");
  if (!el || !dataEl || !window.L) { return; }
  var data = JSON.parse(dataEl.textContent);
  var labels = data.labels || {};
  var map = L.map(el, { zoomControl: true, attributionControl: true, scrollWheelZoom: false });
  if (data.tiles) {
    L.tileLayer(data.tiles, { maxZoom: 18, attribution: data.attribution || "" }).addTo(map);
  }
  var rates = Object.keys(data.zones).map(function (k) { return data.zones[k].rate; })
    .filter(function (v) { return v !== null && v !== undefined; }).sort(function (a, b) { return a - b; });
  var palette = ["#f1eef6", "#d0d1e6", "#a6bddb", "#74a9cf", "#2b8cbe", "#045a8d"];
  function colour(rate) {
    if (rate === null || rate === undefined || !rates.length || rates[rates.length - 1] <= 0) { return "#e5e8eb"; }
    var rank = 0;
    while (rank < rates.length && rates[rank] <= rate) { rank += 1; }
    return palette[Math.min(palette.length - 1, Math.floor((rank - 1) / rates.length * palette.length))];
  }
  function style(feature) {
    var z = data.zones[feature.properties.code] || {};
    var s = { fillColor: colour(z.rate), fillOpacity: 0.85, color: "#6b7885", weight: 1, dashArray: null };
    if (z.kind === "hot") { s.color = "#a3161b"; s.weight = 4; }
    else if (z.kind === "cold") { s.color = "#2b6cb0"; s.weight = 3; }
    else if (z.rising) { s.color = "#c98a00"; s.weight = 3; s.dashArray = "6 4"; }
    return s;
  }
  function describe(feature) {
    var p = feature.properties;
    var z = data.zones[p.code] || {};
    var name = (document.documentElement.lang === "hi" && p.name_hi) ? p.name_hi : p.name;
    var lines = [p.code + " " + name];
    lines.push((labels.cases || "") + ": " + (z.cases === null || z.cases === undefined ? (labels.fewer || "") : z.cases));
    lines.push(labels[z.kind || "none"] || "");
    if (z.rising) { lines.push(labels.rising || ""); }
    return lines.map(function (t) {
      var span = document.createElement("div");
      span.textContent = t;
      return span.outerHTML;
    }).join("");
  }
  fetch(data.geojson, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error("zones " + r.status); } return r.json(); })
    .then(function (geo) {
      var layer = L.geoJSON(geo, {
        style: style,
        onEachFeature: function (feature, lyr) { lyr.bindTooltip(describe(feature), { sticky: true }); }
      }).addTo(map);
      if (!data.tiles && geo.attribution) { map.attributionControl.addAttribution(geo.attribution); }
      var bounds = layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [8, 8] }); }
      el.setAttribute("data-ready", "1");
    })
    .catch(function () { el.setAttribute("data-ready", "error"); el.classList.add("map-failed"); });
}());
