"""Hospital integration: the results as DICOM objects (SEG, SR) and the PACS round trip over DICOMweb.

highdicom and dicomweb-client need pydicom 3; they are imported only inside the functions that use them, so the
Slicer module's process (Slicer ships pydicom 2.4.4) never imports them.
"""
