var bgFields = %(fields)s, bgValues = %(values)s;
function bgEsc(s) {
  return String(s).replace(/[&<>"']/g, function (c) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
  });
}
function bgDecode(d) {
  var feats = [], keys = Object.keys(d.p), pts = d.xy ? bgRing(d.xy, d.s) : null;
  for (var i = 0; i < d.n; i++) {
    var props = {};
    keys.forEach(function (k) {
      var c = d.p[k];
      props[k] = Array.isArray(c) ? c[i] : ("c" in c ? c.c : c.d[c.i[i]]);
    });
    feats.push({type: "Feature", properties: props,
                geometry: d.xy ? {type: "Point", coordinates: pts[i]} : bgGeom(d.g[i], d.s)});
  }
  return {type: "FeatureCollection", features: feats};
}
function bgRing(a, s) {
  var out = [], x = 0, y = 0;
  for (var i = 0; i < a.length; i += 2) { x += a[i]; y += a[i + 1]; out.push([x / s, y / s]); }
  return out;
}
function bgGeom(g, s) {
  var ring = function (a) { return bgRing(a, s); };
  if (g.t === "Polygon" || g.t === "MultiLineString") {
    return {type: g.t, coordinates: g.c.map(ring)};
  }
  if (g.t === "MultiPolygon") {
    return {type: g.t, coordinates: g.c.map(function (p) { return p.map(ring); })};
  }
  if (g.t === "LineString") { return {type: g.t, coordinates: ring(g.c)}; }
  return g;
}
function bgStyle(ls) {
  return function (f) {
    var p = f.properties, c = ls.catField ? ls.catColors[p[ls.catField]] : null;
    return {color: c || ls.color, weight: ls.weight, opacity: 1,
            fillColor: c || ls.fill, fillOpacity: ls.fillOpacity,
            dashArray: p.geometry_quality === "schematic" ? "6 4" : ls.dash};
  };
}
function bgPoint(ls) {
  return function (f, latlng) {
    var ms = f.properties._members;
    if (ms && bgMulti(ms)) {
      return L.marker(latlng, {icon: bgGroupIcon(ms, ls), riseOnHover: true,
                               keyboard: false});
    }
    return L.circleMarker(latlng, {radius: ls.radius});
  };
}
function bgCircles(gj, ls, parent) {
  // accuracy circles drawn here from each point's accuracy_m (one per distinct radius of a
  // group's approximate members), under the points, letting clicks through
  if (ls.accuracy) {
    gj.eachLayer(function (lyr) {
      var p = lyr.feature.properties, seen = {};
      (p._members || [p]).forEach(function (m) {
        var a = Number(m.accuracy_m);
        if (m.geometry_quality === "approximate" && isFinite(a) && a > 0 && !seen[a]) {
          seen[a] = 1;
          L.circle(lyr.getLatLng(), {radius: a, color: ls.accuracy, weight: 1, opacity: 0.6,
            dashArray: "4 3", fill: true, fillOpacity: 0.05, interactive: false}).addTo(parent);
        }
      });
    });
  }
  gj.addTo(parent);
}
function bgMulti(ms) {
  var names = {};
  ms.forEach(function (m) { names[String(m.name_zh)] = 1; });
  return Object.keys(names).length > 1;
}
function bgColour(c) { return /^#[0-9a-fA-F]{3,8}$/.test(String(c)) ? c : "#999999"; }
function bgGroupIcon(ms, ls) {
  var cols = ms.map(function (m) {
    return bgColour((ls.catField && ls.catColors[m[ls.catField]]) || ls.fill);
  });
  var order = [];
  cols.forEach(function (c) { if (order.indexOf(c) < 0) { order.push(c); } });
  cols.sort(function (a, b) { return order.indexOf(a) - order.indexOf(b); });
  var step = 360 / cols.length, stops = cols.map(function (c, k) {
    return c + " " + (k * step).toFixed(1) + "deg " + ((k + 1) * step).toFixed(1) + "deg";
  });
  var d = Math.round(ls.radius * 3.2 + 6);
  return L.divIcon({
    className: "bg-grp-icon", iconSize: [d, d], iconAnchor: [d / 2, d / 2],
    popupAnchor: [0, -d / 2], tooltipAnchor: [d / 2, 0],
    html: "<div class='bg-grp' style='width:" + d + "px;height:" + d +
          "px;background:conic-gradient(" + stops.join(",") + ")'><span>" + ms.length +
          "</span></div>"
  });
}
function bgMaxAccuracy(ms) {
  var best = null;
  ms.forEach(function (m) {
    var a = Number(m.accuracy_m);
    if (m.geometry_quality === "approximate" && isFinite(a) && a > 0 &&
        (best === null || a > best)) {
      best = a;
    }
  });
  return best;
}
function bgAccText(a) {
  return a >= 1000 ? "±" + (a / 1000).toFixed(1) + " km" : "±" + Math.round(a) + " m";
}
function bgRows(p, ls) {
  var rows = [], seen = {};
  bgFields.forEach(function (fl) {
    var k = fl[0]; seen[k] = 1;
    if (p[k] === undefined || p[k] === null || p[k] === "") { return; }
    var v = p[k];
    if (k === "category" && ls.cats[v]) { v = ls.cats[v] + " (" + v + ")"; }
    else if (bgValues[k] && bgValues[k][v]) { v = bgValues[k][v]; }
    if (k === "accuracy_m") { v = "±" + Math.round(v); }
    rows.push("<tr><th>" + bgEsc(fl[1]) + "</th><td>" + bgEsc(v) + "</td></tr>");
  });
  Object.keys(p).forEach(function (k) {
    if (seen[k] || k.charAt(0) === "_" || p[k] === null || p[k] === "") { return; }
    rows.push("<tr><th>" + bgEsc(k) + "</th><td>" + bgEsc(p[k]) + "</td></tr>");
  });
  return "<table class='bg-pop'>" + rows.join("") + "</table>";
}
function bgPopup(ls) {
  return function (f, layer) {
    if (!ls.interactive) { return; }
    var p = f.properties, ms = p._members;
    var head = "<div class='bg-pop-title'>" + bgEsc(ls.title) + "</div>";
    if (ms) {
      var acc = bgMaxAccuracy(ms), n = ms.length;
      head += "<div class='bg-pop-note'>" + bgEsc(
        "同一位置 " + n + " 个" + ls.unitZh + (acc !== null ? "，位置近似 " + bgAccText(acc) : "") +
        " · " + n + " " + ls.unitEn + " at one position" +
        (acc !== null ? ", approximate " + bgAccText(acc) : "")) + "</div>";
      var names = ms.map(function (m) {
        return "<li>" + bgEsc(m.name_zh || m.name_en || "") + "</li>";
      });
      head += "<ol class='bg-pop-names'>" + names.join("") + "</ol>";
      var body = ms.map(function (m, k) {
        var name = m.name_zh || m.name_en || "";
        return "<div class='bg-pop-member'>" + bgEsc((k + 1) + ". " + name) + "</div>" +
               bgRows(m, ls);
      });
      layer.bindPopup(head + "<div class='bg-pop-list'>" + body.join("") + "</div>",
                      {maxWidth: 420, maxHeight: 320, autoPanPaddingTopLeft: [20, 170],
                       autoPanPaddingBottomRight: [20, 30]});
      var tip = bgMulti(ms)
        ? n + " 个" + ls.unitZh + " · " + n + " " + ls.unitEn + " here (click for the list)"
        : String(ms[0].name_zh || "") + " (" + n + ")";
      layer.bindTooltip(bgEsc(tip), {sticky: true});
      return;
    }
    if (p.geometry_quality === "schematic") {
      head += "<div class='bg-pop-note'>示意范围，非精确边界 " +
              "Schematic, not a surveyed boundary</div>";
    }
    layer.bindPopup(head + bgRows(p, ls), {maxWidth: 380, autoPanPaddingTopLeft: [20, 170],
                                           autoPanPaddingBottomRight: [20, 30]});
    if (p.name_zh) { layer.bindTooltip(bgEsc(p.name_zh), {sticky: true}); }
  };
}
