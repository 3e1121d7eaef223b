"""The mark on a view whose data is about to be replaced: a heavy chart or the hardware table
(each runs the engine many times) that follows the edits once they pause. It sits over the
view's top-right corner, outside the chart's scene, so no export ever shows it."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

#: What the mark says (tests read it).
PENDING_TEXT = "Updating when the edits pause…"


class PendingBadge(QtWidgets.QLabel):
    """A small label over ``host``'s top-right (or bottom-right) corner, shown while the
    host's data is behind the inputs. Mouse events pass through it to the view below."""

    MARGIN_PX = 8

    def __init__(self, host: QtWidgets.QWidget, corner: str = "top"):
        super().__init__(PENDING_TEXT, host)
        self.corner = corner
        self.setObjectName("pendingBadge")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        # pale amber on either theme: a state, not an error (the error strip is red)
        self.setStyleSheet(
            "QLabel#pendingBadge { background: rgba(255, 244, 204, 235); color: #4a3700;"
            " border: 1px solid #c9a43a; border-radius: 4px; padding: 3px 8px; }")
        self.setToolTip("This view runs the engine many times (every hardware profile, a GPU "
                        "sweep or a sensitivity); while inputs change quickly it keeps the "
                        "previous plan's data and follows once the edits pause.")
        self.hide()
        host.installEventFilter(self)

    def set_pending(self, on: bool) -> None:
        # isHidden, not isVisible: a badge on a tab not shown is not visible either, and
        # must still be hidden when its view is brought up to date
        if on != self.isHidden():
            return
        if on:
            self._fit()
            self.raise_()
        self.setHidden(not on)

    def _fit(self) -> None:
        self.adjustSize()
        host = self.parentWidget()
        if host is not None:
            y = (self.MARGIN_PX if self.corner == "top"
                 else max(0, host.height() - self.height() - self.MARGIN_PX))
            self.move(max(0, host.width() - self.width() - self.MARGIN_PX), y)

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 (Qt API)
        super().changeEvent(event)
        # a theme switch restyles the window (and its fonts): the text needs another size
        if event.type() in (QtCore.QEvent.Type.FontChange, QtCore.QEvent.Type.StyleChange):
            self._fit()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QtCore.QEvent.Type.Resize:
            self._fit()
        return False
