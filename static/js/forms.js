// Progressive enhancement of the signup form and the preference centre. A static file, so the
// strict Content-Security-Policy (newsletter/csp.py: script-src 'self') lets it run; without
// JavaScript the forms work as they are (time zone UTC, the weekly-day field always shown).
(function () {
  "use strict";

  // A fresh signup form starts in the browser's own time zone, when the list has it.
  function preselectBrowserZone(select) {
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (error) {
      return;
    }
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) {
        select.selectedIndex = i;
        return;
      }
    }
  }

  // The weekly-day field shows only while "weekly" is chosen.
  function toggleWeekday(form) {
    var day = form.querySelector("[data-weekly-only]");
    var radios = form.querySelectorAll('input[name="frequency"]');
    if (!day || !radios.length) {
      return;
    }
    function update() {
      var weekly = form.querySelector('input[name="frequency"][value="weekly"]');
      day.hidden = !(weekly && weekly.checked);
    }
    for (var i = 0; i < radios.length; i++) {
      radios[i].addEventListener("change", update);
    }
    update();
  }

  document.querySelectorAll("select[data-browser-zone]").forEach(preselectBrowserZone);
  document.querySelectorAll("form").forEach(toggleWeekday);
})();
