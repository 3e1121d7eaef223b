"""The mark on a view whose data is about to be replaced: a heavy chart or the hardware table
(each runs the engine many times) that follows the edits once they pause. It sits over the
view's top-right corner, outside the chart's scene, so no export ever shows it."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

#: What the mark says (tests read it).
PENDING_TEXT = "Updating when the edits pause…"


class PendingBadge(QtWidgets.QLabel):
    """A small label over ``host``'s top-right corner, shown while the host's data is behind
    the inputs. Mouse events pass through it to the view below."""

    MARGIN_PX = 8

    def __init__(self, host: QtWidgets.QWidget):
        super().__init__(PENDING_TEXT, host)
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
        if on == self.isVisible():
            return
        if on:
            self.adjustSize()
            self._place()
            self.raise_()
        self.setVisible(on)

    def _place(self) -> None:
        host = self.parentWidget()
        if host is not None:
            self.move(max(0, host.width() - self.width() - self.MARGIN_PX), self.MARGIN_PX)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QtCore.QEvent.Type.Resize and self.isVisible():
            self._place()
        return False
