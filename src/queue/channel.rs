//! The library answer: crossbeam-channel's bounded channel.

use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender};

use super::{GetError, PutError, QueueKind, QueueReceiver, QueueSender, WorkQueue};

/// crossbeam-channel's bounded channel; capacity 0 is its rendezvous channel.
#[derive(Debug)]
pub struct ChannelQueue;

/// Producing end of a [`ChannelQueue`].
#[derive(Debug)]
pub struct ChannelSender<T>(Sender<T>);

/// Consuming end of a [`ChannelQueue`].
#[derive(Debug)]
pub struct ChannelReceiver<T>(Receiver<T>);

// Written out rather than derived: a derive would demand `T: Clone`.
impl<T> Clone for ChannelSender<T> {
    fn clone(&self) -> Self {
        ChannelSender(self.0.clone())
    }
}

impl<T> Clone for ChannelReceiver<T> {
    fn clone(&self) -> Self {
        ChannelReceiver(self.0.clone())
    }
}

impl<T: Send + 'static> WorkQueue<T> for ChannelQueue {
    type Sender = ChannelSender<T>;
    type Receiver = ChannelReceiver<T>;
    const KIND: QueueKind = QueueKind::Channel;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        (ChannelSender(tx), ChannelReceiver(rx))
    }
}

impl<T: Send> QueueSender<T> for ChannelSender<T> {
    fn put(&self, item: T) -> Result<usize, PutError<T>> {
        self.0
            .send(item)
            .map_err(|e| PutError::Closed(e.into_inner()))?;
        // A snapshot right after our send; never more than the capacity.
        Ok(self.0.len())
    }

    fn put_timeout(&self, item: T, timeout: Duration) -> Result<usize, PutError<T>> {
        self.0.send_timeout(item, timeout).map_err(|e| match e {
            SendTimeoutError::Timeout(item) => PutError::Full(item),
            SendTimeoutError::Disconnected(item) => PutError::Closed(item),
        })?;
        Ok(self.0.len())
    }
}

impl<T: Send> QueueReceiver<T> for ChannelReceiver<T> {
    fn get(&self) -> Option<T> {
        self.0.recv().ok()
    }

    fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.0.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => GetError::Empty,
            RecvTimeoutError::Disconnected => GetError::Closed,
        })
    }
}
