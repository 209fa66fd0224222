declare module "*.zip" {
  const path: string;
  export default path;
}
