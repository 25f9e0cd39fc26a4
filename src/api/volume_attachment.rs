//! VolumeAttachment: the attach/detach controller's request that a CSI volume
//! be attached to a node, answered by the external-attacher.

use super::meta::{Name, ObjectMeta};
use crate::cluster::diff::Diff;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// VolumeAttachment spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeAttachmentSpec {
    /// CSI driver that attaches.
    pub attacher: Name,
    /// Target node.
    pub node_name: Name,
    /// The PV to attach.
    pub persistent_volume_name: Name,
}

/// VolumeAttachment status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeAttachmentStatus {
    /// True once ControllerPublishVolume succeeded.
    #[serde(default)]
    pub attached: bool,
    /// Last attach error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_error: Option<String>,
    /// Last detach error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detach_error: Option<String>,
}

/// A VolumeAttachment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase")]
pub struct VolumeAttachment {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: VolumeAttachmentSpec,
    /// Status.
    pub status: VolumeAttachmentStatus,
}

/// The name the CSI attacher gives a VolumeAttachment
/// (`csi_attacher.go getAttachmentName`): `csi-` + hex SHA-256 of
/// volume handle + driver + node name.
pub fn attachment_name(volume_handle: &str, driver: &str, node: &str) -> String {
    let digest = Sha256::new()
        .chain_update(volume_handle)
        .chain_update(driver)
        .chain_update(node)
        .finalize();
    // Written digit by digit: kubelet asks for it at every mount check.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut name = String::with_capacity(4 + 2 * digest.len());
    name.push_str("csi-");
    for b in digest {
        name.push(char::from(HEX[usize::from(b >> 4)]));
        name.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    name
}

#[cfg(test)]
mod tests {
    #[test]
    fn attachment_name_is_csi_plus_sha256_hex() {
        let n = super::attachment_name("vol-1", "ebs.csi.aws.com", "node-a");
        assert!(n.starts_with("csi-"));
        assert_eq!(n.len(), 4 + 64);
        assert_ne!(
            n,
            super::attachment_name("vol-1", "ebs.csi.aws.com", "node-b")
        );
    }
}
