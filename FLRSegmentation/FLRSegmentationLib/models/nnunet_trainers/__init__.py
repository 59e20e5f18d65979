"""nnU-Net trainer classes of this project. nnunetv2 finds them through the nnUNet_extTrainer variable."""
