"""The Qt player room: the only package that imports PySide6.

Importing ``signage.player`` itself loads no Qt; the modules inside do. Call
``signage.player.qtenv.prepare_environment`` before importing any of them so the platform
(offscreen for headless) and QtWebEngine's flags are set before Qt starts.

Modules:
    qtenv      environment and QApplication set-up (no Qt import at module level)
    clock      the one timer wrapper: real time for screens, a manual clock for tests
    layout     pure geometry: safe margin, where the clock, QR, ticker, logo and text go
    playback   pure decisions: which slide comes next, what a content change does
    decode     image decoding and scaling on a thread pool
    textfit    type size fitted by binary search so text never overflows
    views      one widget per slide kind (image, text; video and web below) and idle screen
    stage      slides stacked with fade/cut transitions that never show black
    overlays   QR with caption, clock and date, ticker, logo
    probe      event-loop stall probe and RSS for the ``stats`` event
    video      video slides (QtMultimedia frames painted by the slide itself)
    videoframes  video frames converted and scaled to the screen on a worker thread
    web        web slides (QtWebEngine, one locked-down profile)
    blanking   asking the session to keep the screen awake
    player     the ``Player``: window, schedule, playback loop, events, snapshots
    render     offscreen rendering of single slides (``signage preview``)
    alert_layer  crisis alerts above everything (the alerts area's module)
"""
