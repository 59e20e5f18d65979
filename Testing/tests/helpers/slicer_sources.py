"""Facts read from 3D Slicer's and the Extensions Index's own sources, for the guards that check the module.

Each constant names the file and tag it was read from (github.com/Slicer/Slicer, tags v5.10.0 and v5.12.0;
github.com/Slicer/ExtensionsIndex, branch main). Update them from those files when the module claims a new Slicer.
"""

# The Python packages Slicer bundles, name -> version: the `name==version` lines of the requirements each
# SuperBuild/External_python-*.cmake writes (python-dicom-requirements, -extension-manager-requirements,
# -extension-manager-ssl-requirements, -numpy, -pip, -pythonqt-requirements, -requests-requirements, -scipy,
# -setuptools, -wheel, and in 5.12 -SimpleITK). SimpleITK in 5.10 is built from source by
# SuperBuild/External_SimpleITK.cmake (GIT_TAG a2adada3, "slicer-v2.5.2-2025-06-13").
BUNDLED_PACKAGES = {
    "5.10.0": {
        "pydicom": "2.4.4", "six": "1.17.0", "pillow": "11.2.1", "retrying": "1.3.4", "dicomweb-client": "0.60.0",
        "chardet": "5.2.0", "couchdb": "1.2", "gitdb": "4.0.12", "smmap": "5.0.2", "gitpython": "3.1.44",
        "cryptography": "45.0.3", "pyjwt": "2.10.1", "wrapt": "1.17.2", "deprecated": "1.2.18", "pycparser": "2.22",
        "cffi": "1.17.1", "pynacl": "1.5.0", "python-dateutil": "2.9.0.post0", "typing-extensions": "4.14.0",
        "pygithub": "2.6.1", "numpy": "2.0.2", "pip": "25.1.1", "packaging": "25.0", "pyparsing": "3.2.3",
        "certifi": "2025.4.26", "idna": "3.10", "charset-normalizer": "3.4.2", "urllib3": "2.4.0",
        "requests": "2.32.3", "scipy": "1.13.1", "setuptools": "80.9.0", "wheel": "0.45.1", "simpleitk": "2.5.2",
    },
    "5.12.0": {
        "simpleitk": "2.5.5", "pydicom": "3.0.2", "six": "1.17.0", "pillow": "12.2.0", "retrying": "1.4.2",
        "dicomweb-client": "0.61.0", "dcmqi": "0.4.0", "highdicom": "0.27.0", "pyjpegls": "1.5.1",
        "typing-extensions": "4.15.0", "chardet": "7.4.3", "couchdb": "1.2", "gitdb": "4.0.12", "smmap": "5.0.3",
        "gitpython": "3.1.50", "cryptography": "48.0.0", "pyjwt": "2.13.0", "wrapt": "2.2.1", "deprecated": "1.3.1",
        "pycparser": "3.0", "cffi": "2.0.0", "pynacl": "1.6.2", "python-dateutil": "2.9.0.post0",
        "pygithub": "2.9.1", "numpy": "2.4.6", "pip": "26.1.1", "packaging": "26.2", "pyparsing": "3.3.2",
        "certifi": "2026.5.20", "idna": "3.16", "charset-normalizer": "3.4.7", "urllib3": "2.7.0",
        "requests": "2.34.2", "scipy": "1.17.1", "setuptools": "82.0.1", "wheel": "0.47.0",
    },
}
OLDEST_SLICER = "5.10.0"  # the oldest Slicer the module claims (README, "The 3D Slicer module")

# The import names of the bundled distributions that differ from their names (from each package's own top level).
IMPORT_NAMES = {"pillow": "PIL", "dicomweb-client": "dicomweb_client", "gitpython": "git", "pyjwt": "jwt",
                "pynacl": "nacl", "python-dateutil": "dateutil", "typing-extensions": "typing_extensions",
                "pygithub": "github", "charset-normalizer": "charset_normalizer", "simpleitk": "SimpleITK",
                "deprecated": "deprecated"}

# Modules the application itself provides to scripted modules: Base/Python/slicer (the `slicer` package), VTK's
# Python wrapping (`vtk`, `vtkmodules`, SuperBuild/External_VTK.cmake), PythonQt's `qt` and CTK's `ctk`.
APPLICATION_MODULES = {"slicer", "vtk", "vtkmodules", "qt", "ctk"}

# Every Slicer_ variable that CMake/SlicerDirectories.cmake, CMake/UseSlicer.cmake.in and CMake/SlicerConfig.cmake.in
# set (`set(Slicer_...`), identical in v5.10.0 and v5.12.0. Slicer_INSTALL_QTSCRIPTEDMODULES_LIB_DIR is where
# slicerMacroBuildScriptedModule (CMake/SlicerMacroBuildScriptedModule.cmake) installs a module's scripts, and
# ${CMAKE_BINARY_DIR}/${Slicer_QTSCRIPTEDMODULES_LIB_DIR} where it copies them in the build tree.
CMAKE_VARIABLES = set("""
Slicer_ARCHITECTURE Slicer_BINARY_DIR Slicer_BINARY_INNER_SUBDIR Slicer_BIN_DIR
Slicer_BUILD_APPLICATIONUPDATE_SUPPORT Slicer_BUILD_BRAINSTOOLS Slicer_BUILD_CLI Slicer_BUILD_CLI_SUPPORT
Slicer_BUILD_DICOM_SUPPORT Slicer_BUILD_DIFFUSION_SUPPORT Slicer_BUILD_EXTENSIONMANAGER_SUPPORT
Slicer_BUILD_PARAMETERSERIALIZER_SUPPORT Slicer_BUILD_QTLOADABLEMODULES Slicer_BUILD_QTSCRIPTEDMODULES
Slicer_BUILD_SHARED Slicer_BUILD_TESTING Slicer_BUILD_WEBENGINE_SUPPORT Slicer_BUNDLE_EXTENSIONS_LOCATION
Slicer_BUNDLE_LOCATION Slicer_Base_INCLUDE_DIRS Slicer_CLIMODULES_BIN_DIR Slicer_CLIMODULES_LIB_DIR
Slicer_CLIMODULES_SHARE_DIR Slicer_CLIMODULES_SUBDIR Slicer_CMAKE_CXX_COMPILER Slicer_CMAKE_C_COMPILER
Slicer_CMAKE_DIR Slicer_CMAKE_GENERATOR Slicer_CMAKE_SIZEOF_VOID_P Slicer_CORE_LIBRARY
Slicer_CXX_MODULE_TEST_TEMPLATES_DIR Slicer_DEFAULT_BUILD_TYPE Slicer_DONT_USE_EXTENSION
Slicer_EXPORT_HEADER_TEMPLATE Slicer_EXTENSIONS_CMAKE_DIR Slicer_EXTENSIONS_DIRBASENAME
Slicer_EXTENSIONS_DIRNAME Slicer_EXTENSION_CPACK Slicer_EXTENSION_CPACK_BUNDLE_FIXUP
Slicer_EXTENSION_GENERATE_CONFIG Slicer_EXTERNAL_PROJECTS Slicer_EXTERNAL_PROJECTS_NO_USEFILE
Slicer_ExternalData_DATA_MANAGEMENT_TARGET Slicer_ExternalData_OBJECT_STORES Slicer_ExternalData_URL_TEMPLATES
Slicer_GUI_LIBRARY Slicer_HOME Slicer_INCLUDE_DIR Slicer_INSTALL_BIN_DIR Slicer_INSTALL_CLIMODULES_BIN_DIR
Slicer_INSTALL_CLIMODULES_LIB_DIR Slicer_INSTALL_CLIMODULES_SHARE_DIR Slicer_INSTALL_INCLUDE_DIR
Slicer_INSTALL_ITKFACTORIES_DIR Slicer_INSTALL_LIBEXEC_DIR Slicer_INSTALL_LIB_DIR Slicer_INSTALL_PREFIX
Slicer_INSTALL_QM_DIR Slicer_INSTALL_QTLOADABLEMODULES_BIN_DIR Slicer_INSTALL_QTLOADABLEMODULES_INCLUDE_DIR
Slicer_INSTALL_QTLOADABLEMODULES_LIB_DIR Slicer_INSTALL_QTLOADABLEMODULES_PYTHON_LIB_DIR
Slicer_INSTALL_QTLOADABLEMODULES_SHARE_DIR Slicer_INSTALL_QTSCRIPTEDMODULES_BIN_DIR
Slicer_INSTALL_QTSCRIPTEDMODULES_INCLUDE_DIR Slicer_INSTALL_QTSCRIPTEDMODULES_LIB_DIR
Slicer_INSTALL_QTSCRIPTEDMODULES_SHARE_DIR Slicer_INSTALL_ROOT Slicer_INSTALL_SHARE_DIR
Slicer_INSTALL_THIRDPARTY_BIN_DIR Slicer_INSTALL_THIRDPARTY_EXECUTABLE_LINK_FLAGS
Slicer_INSTALL_THIRDPARTY_LIBRARY_LINK_FLAGS Slicer_INSTALL_THIRDPARTY_LIB_DIR
Slicer_INSTALL_THIRDPARTY_SHARE_DIR Slicer_ITKFACTORIES_DIR Slicer_LAUNCHER_EXECUTABLE Slicer_LAUNCH_COMMAND
Slicer_LIBEXEC_DIR Slicer_LIBRARY_PROPERTIES Slicer_LIB_DIR Slicer_LICENSE_FILE Slicer_LOGOS_RESOURCE
Slicer_Libs_INCLUDE_DIRS Slicer_Libs_VTK_WRAPPED_LIBRARIES Slicer_MAIN_PROJECT
Slicer_MAIN_PROJECT_APPLICATION_DISPLAY_NAME Slicer_MAIN_PROJECT_APPLICATION_NAME
Slicer_ModuleLogic_INCLUDE_DIRS Slicer_ModuleMRML_INCLUDE_DIRS Slicer_ModuleWidgets_INCLUDE_DIRS Slicer_OS
Slicer_PREREQUISITES_CONFIGURED Slicer_PYTHON_MODULE_TEST_TEMPLATES_DIR Slicer_QM_DIR Slicer_QRCC_SCRIPT
Slicer_QTLOADABLEMODULES_BIN_DIR Slicer_QTLOADABLEMODULES_INCLUDE_DIR Slicer_QTLOADABLEMODULES_LIB_DIR
Slicer_QTLOADABLEMODULES_PYTHON_LIB_DIR Slicer_QTLOADABLEMODULES_SHARE_DIR Slicer_QTLOADABLEMODULES_SUBDIR
Slicer_QTSCRIPTEDMODULES_BIN_DIR Slicer_QTSCRIPTEDMODULES_INCLUDE_DIR Slicer_QTSCRIPTEDMODULES_LIB_DIR
Slicer_QTSCRIPTEDMODULES_SHARE_DIR Slicer_QTSCRIPTEDMODULES_SUBDIR Slicer_README_FILE
Slicer_REQUIRED_PYTHON_VERSION Slicer_REQUIRED_PYTHON_VERSION_DOT Slicer_REQUIRED_PYTHON_VERSION_MAJOR
Slicer_REQUIRED_PYTHON_VERSION_MINOR Slicer_REQUIRED_PYTHON_VERSION_PATCH Slicer_REQUIRED_QT_MODULES
Slicer_REQUIRED_QT_VERSION Slicer_REVISION Slicer_SHARE_DIR Slicer_SKIP_CMAKE_SIZEOF_VOID_P_CHECK
Slicer_SKIP_EXTERNAL_DATA Slicer_SKIP_EXTERNAL_PROJECTS_USEFILE Slicer_SKIP_ITKPlatformSpecificChecks
Slicer_SKIP_SET_CMAKE_C_CXX_FLAGS Slicer_SKIP_SlicerBlockAdditionalLauncherSettings
Slicer_SKIP_SlicerBlockCXXRequiredFlags Slicer_SKIP_SlicerBlockPlatformCheck
Slicer_SKIP_SlicerEnableExtensionTesting Slicer_THIRDPARTY_BIN_DIR Slicer_THIRDPARTY_LIB_DIR
Slicer_THIRDPARTY_SHARE_DIR Slicer_USE_CONFIGUREPREREQUISITES Slicer_USE_CTKAPPLAUNCHER
Slicer_USE_FILE Slicer_USE_NUMPY Slicer_USE_PYTHONQT Slicer_USE_QtTesting Slicer_USE_SCIPY Slicer_USE_SimpleITK
Slicer_USE_TBB Slicer_VTK_VERSION_MAJOR Slicer_VTK_VERSION_MINOR Slicer_VTK_WRAP_HIERARCHY_DIR
Slicer_WC_REVISION Slicer_WC_REVISION_HASH Slicer_WC_ROOT Slicer_WC_URL
""".split())

# What those files make of the scripted-module directories for an extension on Linux: SlicerDirectories.cmake
# (Slicer_LIB_DIR = lib/Slicer-<major>.<minor>, Slicer_QTSCRIPTEDMODULES_SUBDIR = qt-scripted-modules) and
# UseSlicer.cmake.in (Slicer_INSTALL_ROOT "./" + Slicer_BUNDLE_EXTENSIONS_LOCATION, empty except on macOS).
QTSCRIPTEDMODULES_LIB_DIR = "lib/Slicer-5.10/qt-scripted-modules"
INSTALL_QTSCRIPTEDMODULES_LIB_DIR = "./" + QTSCRIPTEDMODULES_LIB_DIR

# The Extensions Index's checks, scripts/check_description_files.py (branch main, last changed 2026-05-07, commit
# 43753a55): check_extension_name, check_git_repository_name (allowed_prefixes), check_category
# (ACCEPTED_EXTENSION_CATEGORIES, abridged to the ones a segmentation extension could use), check_scm_url_syntax
# (supported_schemes), check_cmakelists_content (project() name == description file name; EXTENSION_ICONURL and
# EXTENSION_SCREENSHOTURLS set), check_license_file (license_file_names).
INDEX_REPOSITORY_PREFIXES = ("Slicer", "Slicer-", "Slicer_", "SlicerExtension-", "SlicerExtension_")
INDEX_CATEGORIES = {"Analysis", "Quantification", "Planning", "Segmentation", "Utilities"}
INDEX_SCM_SCHEMES = ("git", "https")
INDEX_LICENSE_FILES = ("LICENSE", "LICENCE", "License.txt", "license.txt", "LICENSE.txt", "COPYING", "COPYING.txt")
INDEX_SIZE_LIMIT_MB = 100  # check_repository_size
# Schemas/slicer-extension-catalog-entry-schema-v1.0.1.json (Slicer v5.10.0): required keys and every allowed key
# with its JSON type (additionalProperties false; tier an integer from 1 to 5).
ENTRY_SCHEMA_REQUIRED = {"$schema", "category", "scm_url"}
ENTRY_SCHEMA_TYPES = {"$schema": str, "category": str, "scm_url": str, "scm_revision": str, "scm_type": str,
                      "build_dependencies": list, "build_subdirectory": str, "enabled": bool, "tier": int}
# Extensions the index must hold for our build_dependencies (check_dependencies): PyTorch.json (main, scm_url
# https://github.com/fepegar/SlicerPyTorch.git).
INDEX_EXTENSIONS = {"PyTorch"}
