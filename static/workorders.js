// 接诉即办 pages: small conveniences. Every form works without this file.
(function () {
  "use strict";
  function each(sel, fn) { Array.prototype.forEach.call(document.querySelectorAll(sel), fn); }

  // Workbench: one box ticks every order of the page for the bulk action.
  var all = document.getElementById("pick-all");
  if (all) {
    var wrap = all.closest("p");
    if (wrap) wrap.hidden = false;
    all.addEventListener("change", function () {
      each('#bulk input[name="ids"]', function (b) { b.checked = all.checked; });
    });
  }

  // Staff entry: show only the extra questions of the chosen category.
  var cat = document.getElementById("category");
  function showAttrs() {
    each("fieldset.wo-attrs", function (g) {
      g.hidden = !cat || g.getAttribute("data-category") !== cat.value;
    });
  }
  if (cat) {
    cat.addEventListener("change", showAttrs);
    showAttrs();
  }

  // Staff entry: the consent box is needed only for 代办.
  var consent = document.getElementById("consent-label");
  function showConsent() {
    var c = document.querySelector('input[name="channel"]:checked');
    if (consent) consent.hidden = !(c && c.value === "proxy");
  }
  if (consent) {
    each('input[name="channel"]', function (r) { r.addEventListener("change", showConsent); });
    showConsent();
  }

  // Staff entry: fill longitude and latitude from the phone's position.
  var loc = document.getElementById("use-location");
  if (loc && navigator.geolocation) {
    loc.hidden = false;
    loc.addEventListener("click", function () {
      loc.disabled = true;
      loc.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(function (p) {
        document.getElementById("lon").value = p.coords.longitude.toFixed(6);
        document.getElementById("lat").value = p.coords.latitude.toFixed(6);
        loc.disabled = false;
        loc.textContent = "已填入当前位置";
      }, function () {
        loc.disabled = false;
        loc.textContent = "无法定位，请手工填写经纬度";
      }, { enableHighAccuracy: true, timeout: 15000 });
    });
  }

  // Photos: at most three, told before the upload starts.
  var photos = document.getElementById("photos");
  if (photos) {
    photos.addEventListener("change", function () {
      photos.setCustomValidity(photos.files.length > 3 ? "最多选择 3 张照片" : "");
    });
  }
})();
