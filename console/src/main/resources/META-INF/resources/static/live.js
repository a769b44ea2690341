// A run page follows its run: each event the console relays reloads the steps (through htmx);
// the last one closes the stream, so an ended run is not followed again.
(function () {
  var live = document.getElementById('live');
  if (!live || !live.dataset.events) {
    return;
  }
  var source = new EventSource(live.dataset.events);
  var reload = function () {
    htmx.ajax('GET', live.dataset.steps, { target: '#live', swap: 'innerHTML' });
  };
  source.addEventListener('change', reload);
  source.addEventListener('end', function () {
    source.close();
    reload();
  });
  source.onerror = function () {
    source.close();
  };
})();
