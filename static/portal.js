// 居民服务: optional conveniences for the residents' pages. Every page works without this file.
(function () {
  "use strict";
  var DRAFT = "shequ.portal.draft";
  var MAX_PHOTO = 5 * 1024 * 1024;
  var $ = function (id) { return document.getElementById(id); };

  function store() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }

  // The receipt: the report is in, so the draft is no longer needed.
  if ($("pt-receipt")) {
    var s = store();
    if (s) s.removeItem(DRAFT);
    return;
  }

  var form = $("pt-report");
  if (!form) return;

  // ---- draft: what was typed survives a reload (choosing the place, changing category).
  // The phone number is never kept.
  function keeps(el) {
    return el.name && el.name !== "reporter_phone" && el.name !== "csrf" &&
      el.type !== "hidden" && el.type !== "file" && el.type !== "submit" && el.type !== "button";
  }
  function saveDraft() {
    var s = store();
    if (!s) return;
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!keeps(el)) return;
      if (el.type === "checkbox" || el.type === "radio") {
        if (!el.checked) return;
        (data[el.name] = data[el.name] || []).push(el.value);
      } else if (el.value) {
        data[el.name] = [el.value];
      }
    });
    try { s.setItem(DRAFT, JSON.stringify(data)); } catch (e) { /* storage full: no draft */ }
  }
  function restoreDraft() {
    var s = store();
    var raw = s && s.getItem(DRAFT);
    if (!raw) return;
    var data;
    try { data = JSON.parse(raw); } catch (e) { return; }
    var groupsTouched = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!keeps(el) || !data[el.name]) return;
      if (el.type === "checkbox" || el.type === "radio") {
        if (groupsTouched[el.name] === undefined) {
          groupsTouched[el.name] = form.querySelector("[name='" + el.name.replace(/'/g, "") + "']:checked") !== null;
        }
        if (!groupsTouched[el.name] && data[el.name].indexOf(el.value) >= 0) el.checked = true;
      } else if (!el.value) {
        el.value = data[el.name][0];
      }
    });
  }
  restoreDraft();
  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);

  // ---- how much of the description is left.
  var desc = $("pt-description"), count = $("pt-desc-count");
  if (desc && count) {
    var max = parseInt(desc.getAttribute("maxlength"), 10) || 2000;
    var show = function () {
      var n = desc.value.length;
      count.textContent = "已写 " + n + " 字，还可以写 " + Math.max(0, max - n) + " 字";
    };
    desc.addEventListener("input", show);
    show();
  }

  // ---- photos: say at once when one is too big, before a slow upload.
  Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
    input.addEventListener("change", function () {
      var f = input.files && input.files[0];
      if (f && f.size > MAX_PHOTO) {
        input.value = "";
        window.alert("这张照片超过 5 MB，请换一张或重新拍摄。");
      }
    });
  });

  // ---- one tap sends once (the server also ignores a repeat).
  var submit = $("pt-submit");
  form.addEventListener("submit", function (ev) {
    if (form.getAttribute("data-sent")) { ev.preventDefault(); return; }
    saveDraft();
    form.setAttribute("data-sent", "1");
    if (submit) { submit.textContent = "正在提交，请稍候……"; submit.setAttribute("aria-disabled", "true"); }
  });
  window.addEventListener("pageshow", function () {
    form.removeAttribute("data-sent");
    if (submit) { submit.textContent = "提交"; submit.removeAttribute("aria-disabled"); }
  });

  // ---- the place: fill the next select in place instead of reloading.
  var county = $("pt-county"), township = $("pt-township"), community = $("pt-community");
  var go = $("pt-place-go"), note = $("pt-place-note");
  var chosen = $("pt-place-chosen"), chosenName = $("chosen-place");
  var hidden = { county: $("pt-county-value"), township: $("pt-township-value"), division: $("pt-division-value") };
  var lat = $("pt-lat"), lon = $("pt-lon");
  var change = $("change-category");

  function fallback() {
    if (go) go.hidden = false;
    if (note) note.hidden = false;
  }
  function reset(select, prompt) {
    select.innerHTML = "";
    var o = document.createElement("option");
    o.value = "";
    o.textContent = prompt;
    select.appendChild(o);
    select.disabled = true;
  }
  function fill(select, parent, prompt) {
    var req = new XMLHttpRequest();
    req.open("GET", "/api/v1/divisions?per_page=500&parent=" + encodeURIComponent(parent));
    req.onload = function () {
      var items;
      try { items = JSON.parse(req.responseText).items; } catch (e) { items = null; }
      if (req.status !== 200 || !items) { fallback(); return; }
      reset(select, prompt);
      items.forEach(function (d) {
        var o = document.createElement("option");
        o.value = d.code;
        o.textContent = d.name;
        select.appendChild(o);
      });
      select.disabled = items.length === 0;
    };
    req.onerror = fallback;
    req.send();
  }
  function name(select) {
    var o = select.options[select.selectedIndex];
    return o && o.value ? o.textContent : "";
  }
  function sync() {
    hidden.county.value = county.value;
    hidden.township.value = township.value;
    hidden.division.value = community.value;
    var label = community.value ? [name(county), name(township), name(community)].join(" › ") : "";
    if (chosen && chosenName) { chosenName.textContent = label; chosen.hidden = !label; }
    if (community.value && lat && lon) { lat.value = ""; lon.value = ""; }
    if (change) {
      change.setAttribute("href", "/portal/new?county=" + county.value + "&township=" + township.value +
        "&division=" + community.value);
    }
  }
  if (county && township && community && hidden.county && hidden.township && hidden.division && window.XMLHttpRequest) {
    if (go) go.hidden = true;
    if (note) note.hidden = true;
    county.addEventListener("change", function () {
      reset(township, "请选择乡镇（街道）");
      reset(community, "请先选择乡镇（街道）");
      if (county.value) fill(township, county.value, "请选择乡镇（街道）");
      sync();
    });
    township.addEventListener("change", function () {
      reset(community, "请选择村（社区）");
      if (township.value) fill(community, township.value, "请选择村（社区）");
      sync();
    });
    community.addEventListener("change", sync);
  }

  // ---- "use my location": the server finds the community from the point.
  var box = $("pt-locate-box"), locate = $("pt-locate"), status = $("pt-locate-status");
  if (box && locate && status && lat && lon && navigator.geolocation && window.isSecureContext !== false) {
    box.hidden = false;
    locate.addEventListener("click", function () {
      status.textContent = "正在获取您的位置……";
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        if (hidden.division) hidden.division.value = "";
        if (chosen) chosen.hidden = true;
        var acc = Math.round(pos.coords.accuracy || 0);
        status.textContent = "已获取您的位置" + (acc ? "（误差约 " + acc + " 米）" : "") +
          "，提交后会自动找到所在的村（社区）。";
      }, function () {
        status.textContent = "没能获取位置。请在手机设置里允许浏览器使用位置，或在上面选择村（社区）。";
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    });
  }
})();
